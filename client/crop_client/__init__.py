"""crop_client: everything a person runs against cropd.

The connection and session API (`session.Session`), the image work done for a
claimed image (`work`, `imageops`, `trash`), and the two commands: `multicrop`
(the crop tool, with or without a window) and `cropctl` (status and care).
Imports crop_protocol, and crop_progress only for paths and display helpers.
"""
