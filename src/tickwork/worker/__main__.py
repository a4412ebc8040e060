"""``python -m tickwork.worker --server URL --tags cpu-heavy,default --concurrency 4``."""

from tickwork.worker.main import main

raise SystemExit(main())
