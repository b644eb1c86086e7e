from __future__ import annotations

import json
import logging

from flexunion.core.logs import JsonFormatter, mask_phone
from flexunion.core.request_id import current_request_id


def test_json_lines_carry_the_request_id() -> None:
    token = current_request_id.set("req-12345678")
    try:
        record = logging.makeLogRecord({"name": "x", "levelname": "INFO", "msg": "hello %s",
                                        "args": ("世界",), "path": "/v1/me"})
        line = json.loads(JsonFormatter().format(record))
    finally:
        current_request_id.reset(token)
    assert line["msg"] == "hello 世界"
    assert line["request_id"] == "req-12345678"
    assert line["path"] == "/v1/me"


def test_mask_phone() -> None:
    assert mask_phone("+8613912345678") == "139****5678"
    assert mask_phone("+861") == "*"


async def test_access_line_has_no_query_string(client, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="flexunion.access"):
        await client.get("/healthz", params={"lat": "31.2", "lon": "121.4"})
    lines = [r for r in caplog.records if r.name == "flexunion.access"]
    assert lines and lines[-1].path == "/healthz" and lines[-1].status == 200
    assert all("31.2" not in str(vars(r)) for r in lines)


def test_secret_file_is_made_once_private_and_shared(tmp_path) -> None:
    import os
    from concurrent.futures import ThreadPoolExecutor

    from flexunion.config import Settings
    from flexunion.core.secrets import load_master_secret

    settings = Settings(data_dir=tmp_path)
    with ThreadPoolExecutor(8) as pool:
        secrets_seen = set(pool.map(lambda _: load_master_secret(settings), range(16)))
    assert len(secrets_seen) == 1 and len(next(iter(secrets_seen))) >= 43
    assert oct(os.stat(tmp_path / "secret.key").st_mode & 0o777) == "0o600"
    assert [p.name for p in tmp_path.iterdir()] == ["secret.key"]
