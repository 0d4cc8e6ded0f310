"""The add/edit form of a host. Private keys are write-only: blank keeps the stored one."""

from __future__ import annotations

import ssl

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from containers.engine import EngineUnavailable
from hosts.address import parse_url
from hosts.connection import load_private_key, tls_context
from hosts.models import Host

KEEP = _("Leave blank to keep the stored key.")
PEM_ATTRS = {"rows": 4, "cols": 64, "spellcheck": "false", "autocomplete": "off"}
PEM = forms.Textarea(attrs=PEM_ATTRS)


class SecretTextarea(forms.Textarea):
    """A private key field that never sends a value back to the browser, not even after an error."""

    def format_value(self, value) -> str:
        return ""


class HostForm(forms.ModelForm):
    tls_key = forms.CharField(
        label=_("TLS client key (PEM)"),
        required=False,
        strip=True,
        widget=SecretTextarea(attrs=PEM_ATTRS),
        help_text=_("Stored encrypted."),
    )
    ssh_key = forms.CharField(
        label=_("SSH private key"),
        required=False,
        strip=True,
        widget=SecretTextarea(attrs=PEM_ATTRS),
        help_text=_("OpenSSH or PEM, without a passphrase. Stored encrypted."),
    )
    make_default = forms.BooleanField(label=_("Default host"), required=False)

    class Meta:
        model = Host
        fields = ["name", "url", "tls_ca", "tls_cert", "public_address"]
        labels = {
            "name": _("Name"),
            "url": _("Engine URL"),
            "tls_ca": _("TLS CA certificate (PEM)"),
            "tls_cert": _("TLS client certificate (PEM)"),
            "public_address": _("Public address"),
        }
        help_texts = {
            "name": _("Lowercase letters, digits and dashes; it appears in the host's page addresses."),
            "url": _(
                "unix:///var/run/docker.sock, tcp://host:2376 (with TLS) or ssh://user@host[:port]; "
                "blank for the host local: what DOCKER_HOST names"
            ),
            "tls_ca": _("tcp:// only. The engine's certificate must be signed by this CA."),
            "public_address": _(
                "Host name for links to published ports; blank: the URL's host (tcp, ssh) or this machine."
            ),
        }
        widgets = {"tls_ca": PEM, "tls_cert": PEM}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.editing = self.instance.pk is not None
        if self.editing:
            self.fields["name"].disabled = True
            if self.instance.is_default:  # another host becomes the default, this one does not stop being it
                self.fields["make_default"].initial = True
                self.fields["make_default"].disabled = True
            for name in ("tls_key", "ssh_key"):
                if getattr(self.instance, name):
                    self.fields[name].help_text = f"{self.fields[name].help_text} {KEEP}"

    def clean_url(self) -> str:
        url = self.cleaned_data["url"].strip()
        if not url:
            return url  # only `local` may leave it blank (Host.clean): DOCKER_HOST then names the engine
        try:
            parse_url(url)
        except ValueError as e:
            raise forms.ValidationError(str(e), code="invalid") from None
        return url

    def clean(self):
        data = super().clean()
        url = data.get("url")
        if not url:
            return data
        scheme = parse_url(url).scheme
        if scheme == "tcp":
            self._clean_tls(data)
        elif scheme == "ssh":
            self._clean_ssh(data)
        return data

    def _stored(self, name: str) -> bool:
        return bool(self.editing and getattr(self.instance, name))

    def _clean_tls(self, data: dict) -> None:
        given = {
            "tls_ca": bool(data.get("tls_ca")),
            "tls_cert": bool(data.get("tls_cert")),
            "tls_key": bool(data.get("tls_key")) or self._stored("tls_key"),
        }
        if not any(given.values()):
            return  # plain tcp, as DOCKER_HOST=tcp://... without TLS
        for name, present in given.items():
            if not present:
                self.add_error(name, gettext("TLS needs the CA certificate, the client certificate and its key."))
        if not all(given.values()) or self.errors:
            return
        probe = Host(url=data["url"], tls_ca=data["tls_ca"], tls_cert=data["tls_cert"])
        if data.get("tls_key"):
            probe.set_secret("tls_key", data["tls_key"])
        else:
            probe.tls_key = self.instance.tls_key
        try:
            tls_context(probe)
        except (EngineUnavailable, ssl.SSLError) as e:
            self.add_error(None, getattr(e, "detail", str(e)))

    def _clean_ssh(self, data: dict) -> None:
        if data.get("ssh_key"):
            try:
                load_private_key(data["ssh_key"])
            except ValueError as e:
                self.add_error("ssh_key", str(e))
        elif not self._stored("ssh_key"):
            self.add_error("ssh_key", gettext("An ssh:// host needs the private key to log in with."))

    def changes(self) -> dict:
        """What the audit log records: never a key, only whether one was set."""

        def key_change(name: str) -> str:
            if self.cleaned_data.get(name):
                return "set"
            return "kept" if self._stored(name) else "none"

        return {
            "url": self.cleaned_data["url"],
            "tls": bool(self.cleaned_data.get("tls_ca")),
            "tls_key": key_change("tls_key"),
            "ssh_key": key_change("ssh_key"),
            "public_address": self.cleaned_data.get("public_address", ""),
            "default": bool(self.cleaned_data.get("make_default")),
        }

    def save(self, commit: bool = True) -> Host:
        host: Host = super().save(commit=False)
        old = Host.objects.filter(pk=host.pk).first() if self.editing else None
        address = parse_url(host.address)
        for name in ("tls_key", "ssh_key"):
            if self.cleaned_data.get(name):
                host.set_secret(name, self.cleaned_data[name])
        if address.scheme != "tcp":
            host.tls_ca = host.tls_cert = host.tls_key = ""
        if address.scheme != "ssh":
            host.ssh_key = ""
        if old is None or address.scheme != "ssh" or parse_url(old.address) != address:
            host.ssh_host_key = ""  # a key accepted for one server is not the key of another
        if self.cleaned_data.get("make_default"):
            host.make_default()
        else:
            host.save()
        return host
