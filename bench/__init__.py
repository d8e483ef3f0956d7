"""crop-progress benchmarks: `python -m bench [--quick] [--write-results]`.

Every figure is measured side by side with its baseline in the same run, in
temporary folders (HOME, XDG_*, CROPD_ENDPOINT and CROP_PROGRESS_DIR point
there), against daemons the benchmark starts and stops itself. Nothing here
asserts: it prints a table of figures, ratios and goals.
"""
