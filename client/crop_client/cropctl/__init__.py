"""`cropctl`: status and care of crop-progress (directories, the daemon, the service).

`cli` holds `main()`; `commands` is the click app; `gather` collects what the
read commands show, from the daemon or, when none answers, read-only from the
files; `render` prints it (rich tables, or JSON); `link` talks to cropd;
`errors` holds the one error type and the one-line error report. Nothing is
imported here, so `cropctl` starts fast.
"""
