"""deploy/compose.yaml agrees with the Dockerfile and the nginx template (no Docker Compose needed): the secret comes
from the environment, the replicas share the volume the image keeps its disk state in, and the command nginx runs
renders deploy/nginx.conf into a configuration `nginx -t` accepts."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def test_the_replicas_share_one_secret_from_the_environment_and_one_volume():
    app = COMPOSE["services"]["app"]
    assert (ROOT / app["build"]["context"].replace("..", ".") / app["build"]["dockerfile"]).exists()
    assert re.fullmatch(r"\$\{SKIPLAB_COOKIE_SECRET:\?.+\}", app["environment"]["STREAMLIT_SERVER_COOKIE_SECRET"])
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    mount = app["volumes"][0].split(":")[1]
    for var in ("SKIPLAB_DATA", "SKIPLAB_ZOO"):
        assert app["environment"][var].startswith(mount + "/")
        assert f"{var}={app['environment'][var]}" in dockerfile
    assert "8501" in app["expose"] and "EXPOSE 8501" in dockerfile


def test_nginx_renders_the_template_into_a_valid_configuration(tmp_path):
    if not shutil.which("nginx"):
        (pytest.fail if IN_CI else pytest.skip)("nginx is not installed (apt-get install nginx)")
    script = COMPOSE["services"]["nginx"]["command"][2]
    seds = re.findall(r"-e '(s\|[^']+)'", script)
    assert len(seds) == 3
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    for expr in seds:
        _, key, value, _ = expr.split("|")
        text = text.replace(key, value.replace("/tmp/nginx", str(tmp_path)))
    assert "@" not in re.sub(r"#.*", "", text), "a placeholder was left"
    assert "server app:8501" in text
    text = text.replace("server app:8501", "server 127.0.0.1:8501")  # ("app" resolves only inside compose)
    if os.geteuid() == 0:
        text = "user root;\n" + text
    (tmp_path / "nginx.conf").write_text(text)
    out = subprocess.run(["nginx", "-t", "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
