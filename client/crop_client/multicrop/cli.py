"""`multicrop DIR...`: the crop tool's command line (typer); the window or `--auto`.

Exit status: 0 when it ran (also when nothing was left), 1 on a usage or input
error with a one-line message, 2 when the daemon cannot be reached or started.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from crop_client import shaping
from crop_client.aspect import parse_aspect
from crop_client.imageops import PNG_LEVEL
from crop_client.multicrop.options import Options

EXIT_INPUT, EXIT_DAEMON = 1, 2

app = typer.Typer(add_completion=False, rich_markup_mode=None, pretty_exceptions_enable=False,
                  context_settings={"help_option_names": ["-h", "--help"]})


def _fail(message: str) -> typer.Exit:
    typer.echo(f"multicrop: {message}", err=True)
    return typer.Exit(EXIT_INPUT)


@app.command(help="Crop directories of images, resumably, in a window (or --auto without one)."
             " With no DIR, opens a generated sample set.")
def run(
    directories: Annotated[list[Path] | None, typer.Argument(
        metavar="DIR...", help="work directories, or folders of them", show_default=False)]
    = None,
    resume: Annotated[bool, typer.Option(
        "--resume/--no-resume", help="continue where you left off; with --no-resume, "
        "directories that have progress are left alone")] = True,
    reset_progress: Annotated[bool, typer.Option(
        "--reset-progress", help="start afresh (the old progress file becomes .bak)")] = False,
    show_progress: Annotated[bool, typer.Option(
        "--show-progress", help="print the progress display and exit; changes nothing")]
    = False,
    progress_dir: Annotated[Path | None, typer.Option(
        "--progress-dir", help="where progress files live", show_default=False)] = None,
    output_dir: Annotated[Path | None, typer.Option(
        "--output-dir", help="where crops go (default: <parent>/<name>_cropped/)",
        show_default=False)] = None,
    per_batch: Annotated[int, typer.Option(
        "--per-batch", min=1, max=3, help="images side by side (1-3)")] = 3,
    aspect: Annotated[str, typer.Option(
        "--aspect", help="original, free, 1:1, 4:3, 3:2, 16:9 or W:H")] = "original",
    move: Annotated[bool, typer.Option(
        "--move", help="move originals out once their output is written (saves disk)")]
    = False,
    retry_skipped: Annotated[bool, typer.Option(
        "--retry-skipped", help="offer skipped images again")] = False,
    retry_failed: Annotated[bool, typer.Option(
        "--retry-failed", help="offer failed images again")] = False,
    auto: Annotated[str | None, typer.Option(
        "--auto", metavar="keep|center|suggest", help="run without a window: keep each "
        "image, crop it to the largest centred box of --aspect, or to its suggestion "
        "(--suggest saliency's crop)", show_default=False)] = None,
    limit: Annotated[int | None, typer.Option(
        "--limit", min=1, help="stop after N images", show_default=False)] = None,
    fit: Annotated[str | None, typer.Option(
        "--fit", metavar="bucket:AREA[:STEP]", help="resize each output to the training "
        "bucket nearest its ratio (area at most AREA², sides multiples of STEP, default 64)",
        show_default=False)] = None,
    max_side: Annotated[int | None, typer.Option(
        "--max-side", metavar="N", help="cap the longer side of each output at N",
        show_default=False)] = None,
    exact: Annotated[str | None, typer.Option(
        "--exact", metavar="WxH", help="make every output W×H (trimmed to its ratio)",
        show_default=False)] = None,
    upscale: Annotated[bool, typer.Option(
        "--upscale", help="let --fit/--max-side/--exact enlarge crops smaller than the shape")]
    = False,
    png_level: Annotated[int | None, typer.Option(
        "--png-level", metavar="0-9", help=f"zlib level of written PNGs (default "
        f"{PNG_LEVEL}: measured 2.9× faster than 6 for 16 % more bytes)",
        show_default=False)] = None,
    suggest: Annotated[str, typer.Option(
        "--suggest", metavar="off|saliency", help="propose a crop of each image from its "
        "content (dashed; s adopts it)")] = "off",
) -> None:
    try:
        ratio = parse_aspect(aspect)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    if auto is not None and auto not in ("keep", "center", "suggest"):
        raise _fail(f"--auto takes keep, center or suggest, not {auto!r}")
    if suggest not in ("off", "saliency"):
        raise _fail(f"--suggest takes off or saliency, not {suggest!r}")
    if png_level is not None and not 0 <= png_level <= 9:
        raise _fail(f"--png-level takes 0-9, not {png_level}")
    try:
        shape = shaping.from_options(fit, max_side, exact, upscale)
    except shaping.ShapeError as exc:
        raise _fail(str(exc)) from None
    if auto == "suggest" or suggest == "saliency":
        from crop_client import suggest as engine

        if engine.problem():
            if auto == "suggest":
                raise _fail(engine.problem() or "")
            typer.echo(f"multicrop: {engine.problem()}", err=True)
            suggest = "off"
    folders = list(directories or [])
    for folder in folders:
        if not folder.exists():
            raise _fail(f"no such directory: {folder}")
        if not folder.is_dir():
            raise _fail(f"not a directory: {folder}")
    if not folders:
        from crop_client.multicrop.sample import sample_set

        folders = [sample_set()]
        typer.echo(f"No directory given: using the generated sample set in {folders[0]}")
    options = Options(directories=[f.resolve() for f in folders], resume=resume,
                      reset_progress=reset_progress, show_progress=show_progress,
                      progress_dir=progress_dir, output_dir=output_dir, per_batch=per_batch,
                      aspect=ratio, move=move, retry_skipped=retry_skipped,
                      retry_failed=retry_failed, auto=auto, limit=limit, shape=shape,
                      png_level=png_level, suggest=suggest)
    if show_progress or auto is not None:
        from crop_client.multicrop.auto import run_auto

        raise typer.Exit(run_auto(options))
    from crop_client.multicrop.gui import run_window

    raise typer.Exit(run_window(options))


def main(argv: list[str] | None = None) -> None:
    try:
        app(args=argv, prog_name="multicrop", standalone_mode=True)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
