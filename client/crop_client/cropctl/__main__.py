"""`python -m crop_client.cropctl`."""

from crop_client.cropctl.cli import main

main()
