"""The web dashboard: a separate, read-only process that shows every directory live.

`cropctl web` serves it (Starlette on uvicorn, the `web` extra). It is a client of
cropd like `cropctl status` (and, with no daemon, a reader of the files through
`crop_progress.readonly`); it never changes progress. Live updates come from
cropd's event feed (`crop_protocol.feed`) and go to the browser as server-sent
events. Charts are SVG made here; every asset is served from this package.

Modules: `cli` (the command's logic), `tokenfile` (the viewer token), `guard`
(methods, token, security headers), `source` (what cropd or the files say),
`figures` (the sums behind each chart), `svg` (the charts), `pages` (the HTML),
`live` (feed → browsers), `app` (the routes).
"""
