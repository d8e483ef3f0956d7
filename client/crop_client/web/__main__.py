"""`python -m crop_client.web [--bind HOST:PORT] [--token-file PATH] [--no-open]`."""

from crop_client.web.cli import main

main()
