import os

import pytest


@pytest.fixture(scope="module")
def vcr_cassette_dir() -> str:
    return os.environ["CASSETTE_DIR"]
