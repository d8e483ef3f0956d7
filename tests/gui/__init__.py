"""GUI tests: real multicrop windows under Xvfb (a package, so its conftest does not
shadow tests/conftest.py for `from conftest import ...`)."""
