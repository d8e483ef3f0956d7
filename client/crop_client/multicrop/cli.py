"""`multicrop DIR...`: the crop tool's command line (click, in the house style of
`crop_progress.commandline`); the window, or `--auto` without one.

Exit status: 0 when it ran (also when nothing was left), 1 on a usage or input
error with a one-line message, 2 when the daemon cannot be reached or started,
130 when interrupted.

An option is one `@click.option` on `run` and one field of `Options`; a value
that needs checking beyond its click type is checked in `run`, with `fail`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from crop_client import completion
from crop_client.multicrop.options import AUTO_MODES, Options
from crop_client.shaping import PNG_LEVEL
from crop_progress.commandline import EXIT_INPUT, Command, examples, fail, version_option

TKINTER_HINT = ("multicrop: the window needs tkinter, which this Python lacks: install it "
                "(Debian/Ubuntu: sudo apt install python3-tk; Fedora: sudo dnf install "
                "python3-tkinter; macOS: brew install python-tk), or run `multicrop --auto "
                "center DIR` without a window")

PathArg = click.Path(path_type=Path)


@click.command("multicrop", cls=Command, epilog=examples(
    "multicrop ~/photos/_asian",
    "multicrop ~/photos --aspect 1:1 --per-batch 2",
    "multicrop ~/photos/_asian --auto center --aspect 4:3 --limit 50",
    "multicrop ~/photos/_asian --show-progress"))
@click.argument("directories", metavar="[DIR]...", nargs=-1, type=PathArg)
@click.option("--resume/--no-resume", default=True, show_default=True,
              help="continue where you left off; with --no-resume, directories that have "
                   "progress are left alone")
@click.option("--reset-progress", is_flag=True,
              help="start afresh (the old progress file becomes .bak)")
@click.option("--show-progress", is_flag=True,
              help="print the progress display and exit; changes nothing")
@click.option("--progress-dir", metavar="PATH", type=PathArg, default=None,
              help="where progress files live (default: $CROP_PROGRESS_DIR or the user "
                   "data dir)")
@click.option("--output-dir", metavar="PATH", type=PathArg, default=None,
              help="where crops go (default: <parent>/<name>_cropped/)")
@click.option("--per-batch", type=click.IntRange(1, 3), default=3, show_default=True,
              metavar="1|2|3", help="images side by side")
@click.option("--aspect", metavar="original|free|1:1|4:3|3:2|16:9|W:H", default="original",
              show_default=True, help="the ratio the crop rectangle keeps")
@click.option("--move", is_flag=True,
              help="move originals out once their output is written (saves disk)")
@click.option("--retry-skipped", is_flag=True, help="offer skipped images again")
@click.option("--retry-failed", is_flag=True, help="offer failed images again")
@click.option("--auto", metavar="|".join(AUTO_MODES), default=None,
              help="run without a window: keep each image, crop it to the largest centred "
                   "box of --aspect, or to its content-aware suggestion")
@click.option("--limit", type=click.IntRange(min=1), metavar="N", default=None,
              help="stop after N images")
@click.option("--fit", metavar="bucket:AREA[:STEP]", default=None,
              help="resize each output to the training bucket nearest its ratio (area at most "
                   "AREA², sides multiples of STEP, default 64)")
@click.option("--max-side", metavar="N", type=int, default=None,
              help="cap the longer side of each output at N")
@click.option("--exact", metavar="WxH", default=None,
              help="make every output W×H (trimmed to its ratio)")
@click.option("--upscale", is_flag=True,
              help="let --fit, --max-side and --exact enlarge crops smaller than the shape")
@click.option("--png-level", metavar="0-9", type=int, default=None,
              help=f"zlib level of written PNGs (default: {PNG_LEVEL} with zlib's RLE "
                   "strategy, measured 2.5-5× faster than level 6 for the same bytes)")
@click.option("--suggest", metavar="off|saliency", default="off", show_default=True,
              help="propose a crop of each image from its content (dashed; s adopts it)")
@version_option("multicrop")
@completion.options("multicrop")
def run(directories: tuple[Path, ...], resume: bool, reset_progress: bool,
        show_progress: bool, progress_dir: Path | None, output_dir: Path | None,
        per_batch: int, aspect: str, move: bool, retry_skipped: bool, retry_failed: bool,
        auto: str | None, limit: int | None, fit: str | None, max_side: int | None,
        exact: str | None, upscale: bool, png_level: int | None, suggest: str) -> int:
    """Crop directories of images, resumably, in a window (or with --auto, without one).

    DIR is a folder of images, or a folder of such folders (worked on one by one).
    With no DIR, opens a generated sample set.
    """
    from crop_client.aspect import parse_aspect

    try:
        ratio = parse_aspect(aspect)
    except ValueError as exc:
        fail(f"--aspect: {exc}")
    if auto is not None and auto not in AUTO_MODES:
        fail(f"--auto takes {', '.join(AUTO_MODES[:-1])} or {AUTO_MODES[-1]}, not {auto!r}")
    shape, suggest = _shaping(fit, max_side, exact, upscale, png_level, suggest, auto)
    folders = list(directories)
    for folder in folders:
        if not folder.exists():
            fail(f"no such directory: {folder}")
        if not folder.is_dir():
            fail(f"not a directory: {folder}")
    if not folders:
        from crop_client.multicrop.sample import sample_set

        folders = [sample_set()]
        click.echo(f"No directory given: using the generated sample set in {folders[0]}")
    options = Options(directories=[f.resolve() for f in folders], resume=resume,
                      reset_progress=reset_progress, show_progress=show_progress,
                      progress_dir=progress_dir, output_dir=output_dir, per_batch=per_batch,
                      aspect=ratio, move=move, retry_skipped=retry_skipped,
                      retry_failed=retry_failed, auto=auto, limit=limit, shape=shape,
                      png_level=png_level, suggest=suggest)
    if show_progress or auto is not None:
        from crop_client.multicrop.auto import run_auto

        return run_auto(options)
    return _window(options)


def _shaping(fit: str | None, max_side: int | None, exact: str | None, upscale: bool,
             png_level: int | None, suggest: str, auto: str | None) -> tuple[Any, str]:
    """The output shape and the suggestion mode, checked; without the suggestion engine
    `--suggest saliency` goes on without it (one line), `--auto suggest` stops."""
    from crop_client import shaping

    if suggest not in ("off", "saliency"):
        fail(f"--suggest takes off or saliency, not {suggest!r}")
    if png_level is not None and not 0 <= png_level <= 9:
        fail(f"--png-level takes 0-9, not {png_level}")
    try:
        shape = shaping.from_options(fit, max_side, exact, upscale)
    except shaping.ShapeError as exc:
        fail(str(exc))
    if auto == "suggest" or suggest == "saliency":
        from crop_client import suggest as engine

        problem = engine.problem()
        if problem and auto == "suggest":
            fail(problem)
        if problem:
            sys.stderr.write(f"multicrop: {problem}\n")
            suggest = "off"
    return shape, suggest


def _window(options: Options) -> int:
    try:
        import tkinter  # noqa: F401  (only to say, in one line, that it is missing)
    except ModuleNotFoundError:
        sys.stderr.write(TKINTER_HINT + "\n")
        return EXIT_INPUT
    from crop_client.multicrop.gui import run_window

    return run_window(options)


def main(argv: list[str] | None = None) -> None:
    run.main(args=argv, prog_name="multicrop")


if __name__ == "__main__":
    main()
