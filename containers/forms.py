"""The run form (`docker run` / `docker create` with -p rows) and the Apache demo form."""

from __future__ import annotations

import re
import shlex

from django import forms
from django.conf import settings
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from containers import own_container, ports
from containers.engine import CONTAINER_NAME, Engine, parse_image_reference
from containers.runspec import RESTART_POLICIES, RunSpec

# The engine's rule for container names.
ENV_KEY = re.compile(r"^[^=\s]+$")


def check_image(text: str) -> str:
    """An image reference, or a full image ID (`docker run` takes one; only a pull refuses it)."""
    if re.fullmatch(r"(sha256:)?[a-f0-9]{64}", text.strip()):
        return text.strip()
    try:
        parse_image_reference(text)
    except ValueError as e:
        raise forms.ValidationError(str(e)) from None
    return text.strip()


class RunForm(forms.Form):
    mode = forms.ChoiceField(
        choices=[
            ("run", _("Run: create and start (docker run)")),
            ("create", _("Create only, not started (docker create)")),
        ],
        initial="run",
        widget=forms.RadioSelect,
    )
    image = forms.CharField(
        max_length=255,
        widget=forms.TextInput(attrs={"list": "local-images", "placeholder": "debian:bookworm", "autocomplete": "off"}),
        label=_("Image"),
        help_text=_("A local image, or one to pull first."),
    )
    name = forms.CharField(
        required=False,
        max_length=128,
        label=_("Name"),
        help_text=_("--name; empty lets the engine pick one."),
        widget=forms.TextInput(),
    )
    command = forms.CharField(
        required=False,
        max_length=4000,
        label=_("Command"),
        help_text=_("Overrides the image's command; quoted as in a shell, e.g. sh -c 'echo hi'."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    interactive = forms.BooleanField(required=False, initial=True, label=_("-i (keep STDIN open)"))
    tty = forms.BooleanField(required=False, initial=True, label=_("-t (allocate a terminal)"))
    detach = forms.BooleanField(
        required=False,
        initial=True,
        label=_("-d (detach)"),
        help_text=_("Without -d the CLI attaches your terminal; the panel opens the container's page instead."),
    )
    restart = forms.ChoiceField(choices=[(p, p) for p in RESTART_POLICIES], initial="no", label=_("Restart policy"))
    publish = forms.CharField(
        required=False,
        max_length=4000,
        label=_("-p text"),
        help_text=_(
            "As on the command line: -p 3306:3306 -p 127.0.0.1:7777:80 -p 80 -p [::1]:8080:80/udp, ranges 8000-8002:80-82."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "-p 8080:80"}),
    )

    def clean_image(self) -> str:
        return check_image(self.cleaned_data["image"])

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if name and not CONTAINER_NAME.match(name):
            raise forms.ValidationError(
                _(
                    "'%(name)s' is not a valid name: use letters, digits and _ . - (2 or more), starting with a letter or digit."
                )
                % {"name": name}
            )
        return name

    def clean_command(self) -> list[str]:
        try:
            return shlex.split(self.cleaned_data["command"])
        except ValueError as e:
            raise forms.ValidationError(_("cannot read the command: %(error)s") % {"error": e}) from None

    def clean_publish(self) -> list[ports.PortBinding]:
        try:
            return ports.parse(self.cleaned_data["publish"])
        except ports.PortError as e:
            raise forms.ValidationError(str(e)) from None


class PortRowForm(forms.Form):
    host_ip = forms.CharField(required=False, max_length=64, widget=forms.TextInput(attrs={"placeholder": _("all")}))
    host_port = forms.CharField(
        required=False, max_length=16, widget=forms.TextInput(attrs={"placeholder": _("random")})
    )
    container_port = forms.CharField(max_length=16, widget=forms.TextInput(attrs={"placeholder": "80"}))
    protocol = forms.ChoiceField(choices=[(p, p) for p in ports.PROTOCOLS], initial="tcp")

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            data["binding"] = ports.make_binding(
                data.get("host_ip", ""), data.get("host_port", ""), data.get("container_port", ""), data["protocol"]
            )
        except ports.PortError as e:
            self.add_error(e.field or "container_port", str(e))
        return data


class EnvRowForm(forms.Form):
    key = forms.CharField(max_length=256, widget=forms.TextInput(attrs={"placeholder": "NAME"}))
    value = forms.CharField(required=False, max_length=4000, widget=forms.TextInput(attrs={"placeholder": _("value")}))

    def clean_key(self) -> str:
        key = self.cleaned_data["key"].strip()
        if not ENV_KEY.match(key):
            raise forms.ValidationError(_("'%(key)s' is not a variable name: no spaces or '='.") % {"key": key})
        return key


PortRowFormSet = forms.formset_factory(PortRowForm, extra=0)
EnvRowFormSet = forms.formset_factory(EnvRowForm, extra=0)


def binding_row(binding: ports.PortBinding) -> dict:
    return {
        "host_ip": binding.host_ip,
        "host_port": "" if binding.host is None else str(binding.host),
        "container_port": str(binding.container),
        "protocol": binding.protocol,
    }


def rows_data(prefix: str, rows: list[dict]) -> dict:
    """Formset POST data for rows (all of them "extra", so a row left blank is simply ignored)."""
    data = {f"{prefix}-TOTAL_FORMS": str(len(rows)), f"{prefix}-INITIAL_FORMS": "0"}
    for i, row in enumerate(rows):
        data.update({f"{prefix}-{i}-{k}": v for k, v in row.items()})
    return data


class RunRequest:
    """The run form with its port and environment rows, validated together into a RunSpec."""

    def __init__(self, data=None, initial: dict | None = None):
        self.form = RunForm(data, initial=initial)
        if data is None:
            self.ports = PortRowFormSet(rows_data("ports", [{"protocol": "tcp"}]), prefix="ports")
            self.env = EnvRowFormSet(prefix="env")
        else:
            self.ports = PortRowFormSet(data, prefix="ports")
            self.env = EnvRowFormSet(data, prefix="env")

    def spec(self, engine: Engine | None = None) -> RunSpec | None:
        """The RunSpec, or None with every error on its field. Given the engine it will run on, adds the
        checks that ask that engine and its host (name taken, host port published or bound)."""
        valid = all([self.form.is_valid(), self.ports.is_valid(), self.env.is_valid()])
        if not valid:
            return None
        rows = [(f, f.cleaned_data["binding"]) for f in self.ports if f.cleaned_data]
        typed = self.form.cleaned_data["publish"]
        bindings = [b for _, b in rows] + typed

        def fail(index: int, message: str) -> None:
            if index < len(rows):
                rows[index][0].add_error("host_port", message)
            else:
                self.form.add_error("publish", message)

        count = ports.binding_count(bindings)
        if count > settings.MAX_PORT_BINDINGS:
            # Refused before anything expands the ranges: checking them costs time per port.
            self.form.add_error(
                None,
                _(
                    "%(count)d port bindings: a container may have at most %(max)d (MAX_PORT_BINDINGS). "
                    "Publish fewer ports or smaller ranges."
                )
                % {"count": count, "max": settings.MAX_PORT_BINDINGS},
            )
            return None
        for index, message in ports.duplicates(bindings):
            fail(index, message)
        if engine is not None and self.form.is_valid() and not any(f.errors for f, _ in rows):
            self._check_engine(engine, bindings, fail)
        if self.form.errors or any(f.errors for f, _ in rows):
            return None
        data = self.form.cleaned_data
        start = data["mode"] == "run"
        return RunSpec(
            image=data["image"],
            name=data["name"],
            command=tuple(data["command"]),
            interactive=data["interactive"],
            tty=data["tty"],
            detach=data["detach"] and start,
            start=start,
            environment=tuple((f.cleaned_data["key"], f.cleaned_data["value"]) for f in self.env if f.cleaned_data),
            restart=data["restart"],
            ports=tuple(bindings),
        )

    def _check_engine(self, engine: Engine, bindings: list[ports.PortBinding], fail) -> None:
        name = self.form.cleaned_data["name"]
        if name and engine.container_name_taken(name):
            self.form.add_error("name", _("The name '%(name)s' is already used by another container.") % {"name": name})
        if self.form.cleaned_data["mode"] != "run":
            return  # a created container binds nothing until it starts
        check_host_ports(engine, bindings, fail)

    @property
    def errors(self) -> list[str]:
        """Every error message, for the compact list under the preview."""
        found = [e for errs in self.form.errors.values() for e in errs]
        for rowset in (self.ports, self.env):
            found += [e for f in rowset.forms for errs in f.errors.values() for e in errs]
            found += list(rowset.non_form_errors())
        return found


def check_host_ports(engine: Engine, bindings: list[ports.PortBinding], fail) -> None:
    """fail(index, message) for each host port a running container of `engine` publishes or a process
    on its host holds.

    The bind probe runs only where it sees that host's ports: the engine is on this machine and the
    panel is not in a container with its own network. Elsewhere (a remote host, the panel's image)
    the engine's own "address already in use" stands for it at start."""
    used = engine.published_host_ports()
    probe = own_container.sees_host_ports(engine)
    for index, b in enumerate(bindings):
        for _container_port, host_port in b.pairs():
            if host_port is None:
                continue
            owner = next(
                (
                    u
                    for u in used
                    if u.host_port == host_port and u.protocol == b.protocol and ports.overlaps(u.host_ip, b.host_ip)
                ),
                None,
            )
            if owner:
                fail(
                    index,
                    gettext("host port %(port)s/%(protocol)s is already published by container %(container)s")
                    % {"port": host_port, "protocol": b.protocol, "container": owner.container},
                )
                break
            if not probe:
                continue
            try:
                free = ports.host_port_free(b.host_ip, host_port, b.protocol)
            except ports.PortError as e:
                fail(index, str(e))
                break
            if not free:
                where = ports.host_ip_text(b.host_ip or "0.0.0.0")
                fail(
                    index,
                    gettext("host port %(where)s:%(port)s/%(protocol)s is already in use by a process on this host")
                    % {"where": where, "port": host_port, "protocol": b.protocol},
                )
                break


def fill_rows(data) -> tuple[dict, str]:
    """POST data with the -p text moved into port rows after the non-blank ones, and the text's error.

    On an error the rows and the text are left as they are, so the user can fix the text.
    """
    data = data.copy()
    try:
        typed = ports.parse(data.get("publish", ""))
    except ports.PortError as e:
        return data, str(e)
    existing = [{k: str(f[k].value() or "") for k in f.fields} for f in PortRowFormSet(data, prefix="ports").forms]
    rows = [r for r in existing if any(r[k].strip() for k in ("host_ip", "host_port", "container_port"))]
    for key in [k for k in data if k.startswith("ports-")]:
        del data[key]
    rows += [binding_row(b) for b in typed]
    for key, value in rows_data("ports", rows or [{"protocol": "tcp"}]).items():
        data[key] = value
    data["publish"] = ""
    return data, ""


class ApacheDeployForm(forms.Form):
    preset = forms.ChoiceField(
        choices=[("seed", _("Debian + apt-get install apache2")), ("official", _("Official image"))]
    )
    image = forms.CharField(max_length=255, label=_("Image"))
    name = forms.CharField(max_length=128, label=_("Name"))
    host_ip = forms.CharField(required=False, max_length=64, label=_("Host IP"))
    host_port = forms.IntegerField(min_value=1, max_value=65535, label=_("Host port"))

    def clean_image(self) -> str:
        return check_image(self.cleaned_data["image"])

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not CONTAINER_NAME.match(name):
            raise forms.ValidationError(_("'%(name)s' is not a valid container name.") % {"name": name})
        return name

    def clean_host_ip(self) -> str:
        try:
            return ports.parse_ip(self.cleaned_data["host_ip"])
        except ports.PortError as e:
            raise forms.ValidationError(str(e)) from None

    def binding(self) -> ports.PortBinding:
        port = ports.PortRange(self.cleaned_data["host_port"], self.cleaned_data["host_port"])
        return ports.PortBinding(container=ports.PortRange(80, 80), host=port, host_ip=self.cleaned_data["host_ip"])
