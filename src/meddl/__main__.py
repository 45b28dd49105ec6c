import sys

from meddl.cli import main

sys.exit(main())
