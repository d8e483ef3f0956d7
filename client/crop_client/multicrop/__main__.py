"""`python -m crop_client.multicrop`."""

from crop_client.multicrop.cli import main

main()
