"""manage.py addhost / removehost (issue 10): hosts from a script, checked on real engines."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from containers.models import AuditEntry
from hosts.models import Host
from tests.engines import STATE

pytestmark = pytest.mark.django_db


def addhost(*args: str) -> str:
    out = StringIO()
    call_command("addhost", *args, stdout=out)
    return out.getvalue()


def test_it_adds_a_unix_host_and_prints_its_version(extra_engines, dk_e2):
    out = addhost("second", extra_engines.e2_url)
    assert f"Added host second ({extra_engines.e2_url})." in out
    assert f"second answers: Docker Engine {dk_e2.version()['Version']} (API {dk_e2.version()['ApiVersion']})" in out
    assert Host.default().name == "local"
    entry = AuditEntry.objects.get(action="host.create")
    assert (entry.target_name, entry.params["via"], entry.ok) == ("second", "manage.py addhost", True)


def test_it_adds_a_tls_host_from_files_and_updates_it(extra_engines, dk_e3):
    tls = extra_engines.tls
    out = addhost(
        "tls", extra_engines.e3_url, "--tls-ca", tls["ca"], "--tls-cert", tls["cert"], "--tls-key", tls["key"]
    )
    assert f"tls answers: Docker Engine {dk_e3.version()['Version']}" in out
    # updated without the key: the stored one stays; --default moves the default
    out = addhost("tls", extra_engines.e3_url, "--public-address", "docker3.example", "--default")
    assert "Updated host tls" in out
    host = Host.objects.get(name="tls")
    assert (host.public_address, host.is_default) == ("docker3.example", True)
    assert Host.default() == host
    assert AuditEntry.objects.get(action="host.update").params["tls_key"] == "kept"
    assert extra_engines.read("key").splitlines()[1] not in str(list(AuditEntry.objects.values_list("params")))


def test_a_wrong_ca_fails_with_the_tls_error(extra_engines):
    tls = extra_engines.tls
    with pytest.raises(CommandError, match="TLS certificate verify failed"):
        addhost("bad", extra_engines.e3_url, "--tls-ca", tls["rogue_ca"], "--tls-cert", tls["rogue_cert"],
                "--tls-key", tls["rogue_key"])  # fmt: skip
    assert Host.objects.filter(name="bad").exists()  # saved, then reported as not answering


def test_an_ssh_host_needs_its_host_key_accepted(extra_engines, dk_e2, tmp_path):
    key_file = tmp_path / "id"
    key_file.write_text(extra_engines.ssh_key)
    with pytest.raises(CommandError, match="is not known: ssh-ed25519 SHA256:.*--accept-host-key"):
        addhost("viassh", extra_engines.ssh_url, "--ssh-key", str(key_file))
    out = addhost("viassh", extra_engines.ssh_url, "--accept-host-key")
    assert "Accepted the SSH host key ssh-ed25519 SHA256:" in out
    assert f"viassh answers: Docker Engine {dk_e2.version()['Version']}" in out
    public = (STATE / "ssh" / "ssh_host_ed25519_key.pub").read_text().split()[1]
    assert Host.objects.get(name="viassh").ssh_host_key.endswith(public)


def test_it_refuses_bad_arguments_clearly(tmp_path):
    with pytest.raises(CommandError, match="url: Give the engine's port"):
        addhost("x", "tcp://10.0.0.5")
    with pytest.raises(CommandError, match="cannot read /nonexistent/key"):
        addhost("x", "ssh://root@10.0.0.5", "--ssh-key", "/nonexistent/key")
    assert not Host.objects.filter(name="x").exists()


def test_removehost_removes_all_but_the_default(extra_engines):
    addhost("second", extra_engines.e2_url)
    out = StringIO()
    call_command("removehost", "second", stdout=out)
    assert "Removed host second." in out.getvalue()
    assert not Host.objects.filter(name="second").exists()
    with pytest.raises(CommandError, match="local is the default host"):
        call_command("removehost", "local")
    assert AuditEntry.objects.get(action="host.remove").target_name == "second"
