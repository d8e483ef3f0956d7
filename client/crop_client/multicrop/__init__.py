"""multicrop: the crop tool, a Tk window or `--auto` without one."""
