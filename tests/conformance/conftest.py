"""Makes the Python binding (bindings/python, package yaowasm) importable
without installing it."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bindings" / "python"))
