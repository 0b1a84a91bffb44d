"""site_dir.py PREFIX DEFAULT: the directory `meson install` puts the
package in: DEFAULT (Meson's choice) if Python reads it, else Python's own
site directory below PREFIX if it has one, else DEFAULT."""
import os
import site
import sys

prefix, default = (os.path.normpath(a) for a in sys.argv[1:])
sites = [os.path.normpath(d) for d in site.getsitepackages()]
below = [d for d in sites if d.startswith(prefix + os.sep)]
print(below[0] if below and default not in sites else default)
