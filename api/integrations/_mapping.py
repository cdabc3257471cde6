"""Per-helpdesk mapping of a webhook payload onto a ticket, and of triage answers onto helpdesk fields.

Every helpdesk names things its own way, and every team customises it (a `module` custom field, a
group per team, priorities renamed), so the mapping is data, not code: the defaults below follow each
helpdesk's documented default payload, and a YAML file (`TRIAGE_INTEGRATIONS_CONFIG`) overrides any
part of it, per helpdesk. A path is dotted (`ticket.group.name`); a list of paths means "the first that
is present".

    zammad:
      fields: {group: ticket.group.name, priority: ticket.priority.name, module: ticket.module}
      learn:  {group: module, priority: priority}      # helpdesk field -> triage head
      write:  [module]                                  # fields the service may fill when empty / default
      values: {group: {pbx-gateway: "Voice team"}}      # head value -> helpdesk value
      defaults: {priority: "2 normal"}                  # a value that means "nobody chose yet"
      tags: [category]                                  # heads whose answers become tags
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from triage.errors import DataError

DEFAULTS: dict[str, dict[str, Any]] = {
    "zammad": {
        "id": "ticket.number", "ref": "ticket.id", "subject": "ticket.title",
        "created_at": ["ticket.created_at", "article.created_at"],
        "customer": ["ticket.customer.email", "ticket.customer.login", "ticket.customer"],
        "organization": ["ticket.organization.name", "ticket.organization"],
        "actor": ["ticket.updated_by.login", "ticket.updated_by.email", "ticket.updated_by"],
        "fields": {"group": ["ticket.group.name", "ticket.group"], "priority": ["ticket.priority.name",
                                                                              "ticket.priority"],
                   "state": ["ticket.state.name", "ticket.state"], "owner": ["ticket.owner.login", "ticket.owner"]},
        "tags_in": "ticket.tags",
        "learn": {"group": "module", "priority": "priority"}, "write": [], "values": {},
        "defaults": {"priority": "2 normal", "owner": "-"}, "tags": [],
    },
    "jira": {
        "id": "issue.key", "ref": "issue.key", "subject": "issue.fields.summary",
        "body": "issue.fields.description", "created_at": "issue.fields.created",
        "customer": ["issue.fields.reporter.emailAddress", "issue.fields.reporter.displayName"],
        "organization": "issue.fields.customfield_10002.0.name",
        "actor": ["user.emailAddress", "user.accountId", "user.name", "user.displayName"],
        "fields": {"priority": "issue.fields.priority.name", "component": "issue.fields.components.0.name",
                   "type": "issue.fields.issuetype.name", "state": "issue.fields.status.name",
                   "assignee": ["issue.fields.assignee.emailAddress", "issue.fields.assignee.displayName"]},
        "tags_in": "issue.fields.labels",
        "learn": {"component": "module", "priority": "priority"}, "write": [], "values": {},
        "defaults": {"priority": "Medium"}, "tags": [],
    },
    "znuny": {
        "id": "Ticket.TicketNumber", "ref": "Ticket.TicketID", "subject": "Ticket.Title",
        "created_at": ["Ticket.Created", "Article.CreateTime"],
        "customer": ["Ticket.CustomerUserID", "Article.From"], "organization": "Ticket.CustomerID",
        "actor": ["Event.UserLogin", "Ticket.ChangeBy"],
        "fields": {"queue": "Ticket.Queue", "priority": "Ticket.Priority", "state": "Ticket.State",
                   "owner": "Ticket.Owner", "type": "Ticket.Type"},
        "tags_in": None,
        "learn": {"queue": "module", "priority": "priority"}, "write": [], "values": {},
        "defaults": {"priority": "3 normal", "owner": "root@localhost"}, "tags": [],
    },
}


@dataclass
class Mapping:
    """One helpdesk's mapping, with the defaults filled in."""

    helpdesk: str
    spec: dict[str, Any] = field(default_factory=dict)

    def get(self, payload: Any, name: str) -> Any:
        """The value at the spec's path(s) for `name`, or None."""
        return dig(payload, self.spec.get(name))

    @property
    def fields(self) -> dict[str, Any]:
        return dict(self.spec.get("fields") or {})

    @property
    def learn(self) -> dict[str, str]:
        return {str(k): str(v) for k, v in (self.spec.get("learn") or {}).items()}

    @property
    def write(self) -> list[str]:
        return [str(f) for f in self.spec.get("write") or []]

    @property
    def tags(self) -> list[str]:
        return [str(h) for h in self.spec.get("tags") or []]

    def to_helpdesk(self, field_name: str, value: str) -> str:
        return str((self.spec.get("values") or {}).get(field_name, {}).get(value, value))

    def from_helpdesk(self, field_name: str, value: str) -> str:
        inverse = {str(v): str(k) for k, v in (self.spec.get("values") or {}).get(field_name, {}).items()}
        return inverse.get(value, value)

    def is_default(self, field_name: str, value: str | None) -> bool:
        """Empty, or the value a new ticket gets before anybody chose one."""
        if value is None or not str(value).strip():
            return True
        return str(value) == str((self.spec.get("defaults") or {}).get(field_name, "\0"))


def dig(payload: Any, path: Any) -> Any:
    """`a.b.0.c` into nested dicts and lists; a list of paths gives the first one present."""
    if path is None:
        return None
    if isinstance(path, list):
        for p in path:
            if (found := dig(payload, p)) not in (None, "", []):
                return found
        return None
    node = payload
    for part in str(path).split("."):
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
        if node is None:
            return None
    return node


def load_mappings(path: Path | None) -> dict[str, Mapping]:
    """The defaults, overridden per helpdesk (and per key) by the YAML file when one is given."""
    specs = copy.deepcopy(DEFAULTS)
    if path is not None:
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise DataError(f"cannot read the integrations mapping ({exc})", file=str(path)) from exc
        if not isinstance(loaded, dict):
            raise DataError("must be a mapping of helpdesk name -> settings", file=str(path))
        for name, spec in loaded.items():
            if name not in specs:
                raise DataError(f"unknown helpdesk '{name}'; use one of {sorted(specs)}", file=str(path))
            if not isinstance(spec, dict):
                raise DataError("must be a mapping of settings", file=str(path), field=str(name))
            specs[name].update(spec)
    return {name: Mapping(name, spec) for name, spec in specs.items()}
