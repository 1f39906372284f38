"""Cloud Function entry point `tesla_scout_main`: parse the request, run one scout tick, answer JSON.

Imports stay light: the function cold-starts up to 96 times a day, so the heavy clients are
created lazily inside the adapters and nothing is built at import time.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

# Deployed, `shared/` is staged beside this file; locally it lives one folder up.
_here = Path(__file__).resolve().parent
for _candidate in (_here, _here.parent):
    if (_candidate / "shared" / "__init__.py").exists() and str(_candidate) not in sys.path:
        sys.path.insert(0, str(_candidate))
        break

from shared.scout.runtime import handle_request  # noqa: E402


def tesla_scout_main(request: Any) -> tuple[dict[str, Any], int]:
    """functions-framework HTTP entry point."""
    return handle_request(request, env=os.environ)
