"""The `parent_external_ids` setting resolved against the org: which reference fields of which streams are followed,
and to which external id of their parent, so that records carry `{"Account__r": {"External_Id__c": "A-1"}}`.

A copy into another org needs this: there the parent has another Id, but the same external id, through which the
destination writes the reference. An entry naming an object and its fields is strict (a field that cannot be
followed is a config error); a wildcard ("*" for the object or the fields) follows what it can and logs the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass

from salesforce_api.errors import ApiError, ConfigError

from source_salesforce.config import ALL, SETTING_PARENTS, ParentRule
from source_salesforce.schema import FieldInfo, ObjectSchema, ParentKey, from_describe

logger = logging.getLogger("airbyte")

Describe = Callable[[list[str]], Iterable[tuple[str, Mapping | ApiError]]]


@dataclass(frozen=True)
class _Candidate:
    schema: ObjectSchema
    field: FieldInfo
    rule: ParentRule
    strict: bool  # named by object and field: a reason not to follow it is a config error


def follow_parents(
    rules: Iterable[ParentRule],
    schemas: Iterable[ObjectSchema],
    describe: Describe,
    org_objects: Collection[str] | None = None,
) -> None:
    """Add to each of `schemas` the parent external ids the rules ask for (ObjectSchema.add_parents).

    `describe` describes objects (the parents not among `schemas`). `org_objects`, when known (discover), holds
    every object of the org and `schemas` every one the streams setting selects: an entry naming an object or field
    that none of them has is then an error; otherwise (a read, which knows only its catalog) it is skipped.
    """
    rules = list(rules)
    if not rules:
        return
    by_name = {schema.name.casefold(): schema for schema in schemas}
    candidates = list(_candidates(rules, by_name, org_objects))
    parents = _parent_schemas({c.field.reference_to[0] for c in candidates}, by_name, describe)
    chosen: dict[str, str] = {}  # parent -> its external id, logged once
    skipped: list[str] = []
    for candidate in candidates:
        schema, info, rule = candidate.schema, candidate.field, candidate.rule
        parent_name = info.reference_to[0]
        parent = parents.get(parent_name)
        keys = sorted(f.name for f in parent.fields.values() if f.external_id and f.unique) if parent else []
        if not keys:
            reason = (
                f"its parent object {parent_name} cannot be described (the user may lack access to it)"
                if parent is None
                else f"its parent object {parent_name} has no unique external id field (a field marked External ID "
                "and Unique)"
            )
            if candidate.strict:
                raise ConfigError(
                    f"The setting '{rule.setting}' names {schema.name}.{info.name}, whose parent external id cannot "
                    f"be read: {reason}. Give {parent_name} such a field, or remove {info.name} from the setting.",
                    setting=rule.setting,
                )
            skipped.append(f"{schema.name}.{info.name} ({parent_name} has no unique external id)")
            continue
        if len(keys) > 1 and parent_name not in chosen:
            logger.info(
                "%s: %s has several unique external ids (%s); references to it carry %s (the first by name)",
                SETTING_PARENTS,
                parent_name,
                ", ".join(keys),
                keys[0],
            )
        chosen[parent_name] = keys[0]
        key = parent.fields[keys[0]]  # type: ignore[union-attr] - keys come from parent
        assert info.relationship_name is not None
        schema.add_parents([ParentKey(info.name, info.relationship_name, parent_name, key.name, key.type)])
    if skipped:
        logger.info("%s: references not followed: %s", SETTING_PARENTS, ", ".join(sorted(set(skipped))))
    for schema in by_name.values():
        if schema.parents:
            logger.info(
                "%s: records carry the parent external ids %s",
                schema.name,
                ", ".join(p.path for p in schema.parents.values()),
            )


def _candidates(
    rules: list[ParentRule], by_name: Mapping[str, ObjectSchema], org_objects: Collection[str] | None
) -> Iterator[_Candidate]:
    """The (object, reference field) pairs the rules name; a strictly named one that is no single-parent reference
    is a config error."""
    known = {name.casefold() for name in org_objects} if org_objects is not None else None
    for rule in rules:
        if rule.sobject == ALL:
            targets = list(by_name.values())
        elif rule.sobject.casefold() in by_name:
            targets = [by_name[rule.sobject.casefold()]]
        elif known is not None and rule.sobject.casefold() not in known:
            raise ConfigError(
                f"The setting '{rule.setting}.object' names {rule.sobject}, which is not an object of the org that "
                "the connector's user can read: check its API name (such as Account or X__c).",
                setting=f"{rule.setting}.object",
            )
        else:
            continue  # an object this command does not read
        strict = rule.sobject != ALL and rule.fields != (ALL,)
        for name in rule.fields:
            found = False
            for schema in targets:
                if name == ALL:
                    for info in schema.fields.values():
                        if _single_reference(info) and info.relationship_name not in schema.fields:
                            yield _Candidate(schema, info, rule, strict=False)
                    continue
                info = _field(schema, name)
                if info is None:
                    if strict:
                        raise ConfigError(
                            f"The setting '{rule.setting}.fields' names {name}, which is not a field of "
                            f"{schema.name}{_relationship_hint(schema, name)}.",
                            setting=f"{rule.setting}.fields",
                        )
                    continue
                found = True
                problem = _not_followable(info)
                if problem is None and info.relationship_name in schema.fields:
                    problem = f"its relationship name {info.relationship_name} is also a field name"
                if problem is None:
                    yield _Candidate(schema, info, rule, strict=strict)
                elif strict:
                    raise ConfigError(
                        f"The setting '{rule.setting}.fields' names {schema.name}.{info.name}, which cannot be "
                        f"followed to a parent: {problem}.",
                        setting=f"{rule.setting}.fields",
                    )
                else:
                    logger.info("%s: %s.%s is not followed: %s", rule.setting, schema.name, info.name, problem)
            if name != ALL and not found and rule.sobject == ALL and known is not None:
                raise ConfigError(
                    f"The setting '{rule.setting}.fields' names {name}, which no object of the 'streams' setting has.",
                    setting=f"{rule.setting}.fields",
                )


def check_rules(rules: Iterable[ParentRule], describe: Describe) -> None:
    """The checks `check` can make without describing the whole org: every named object exists, and its named
    fields can be followed to a parent's unique external id."""
    rules = list(rules)
    names = sorted({rule.sobject for rule in rules if rule.sobject != ALL})
    schemas = []
    for name, answer in describe(names) if names else ():
        if isinstance(answer, ApiError):
            rule = next(r for r in rules if r.sobject == name)
            raise ConfigError(
                f"The setting '{rule.setting}.object' names {name}, which the connector's user cannot read "
                f"({answer.message}): check its API name (such as Account or X__c) and the user's access.",
                setting=f"{rule.setting}.object",
            )
        schemas.append(from_describe(answer))
    follow_parents(rules, schemas, describe)


def _field(schema: ObjectSchema, name: str) -> FieldInfo | None:
    """The field named `name` whatever its case (Salesforce names are case-insensitive)."""
    info = schema.fields.get(name)
    if info is None:
        info = next((f for f in schema.fields.values() if f.name.casefold() == name.casefold()), None)
    return info


def _relationship_hint(schema: ObjectSchema, name: str) -> str:
    """For a relationship name given where its reference field belongs (Account__r for Account__c): say so."""
    for info in schema.fields.values():
        if info.relationship_name and info.relationship_name.casefold() == name.casefold():
            return f" (name the reference field {info.name}, whose relationship is {info.relationship_name})"
    return ""


def _single_reference(info: FieldInfo) -> bool:
    return _not_followable(info) is None


def _not_followable(info: FieldInfo) -> str | None:
    """Why a field cannot be followed to one parent's external id, or None when it can."""
    if info.type != "reference" or not info.reference_to:
        return f"it is a {info.type} field, not a reference (lookup or master-detail)"
    if not info.relationship_name:
        return "Salesforce gives it no relationship name to query through"
    if len(info.reference_to) > 1:
        several = ", ".join(info.reference_to)
        return f"it may refer to several objects ({several}); only a reference to one object can be followed"
    return None


def _parent_schemas(
    names: set[str], by_name: Mapping[str, ObjectSchema], describe: Describe
) -> dict[str, ObjectSchema]:
    """The schemas of the parent objects `names`: those among the streams, and a describe of the others."""
    found = {name: by_name[name.casefold()] for name in names if name.casefold() in by_name}
    missing = sorted(name for name in names if name not in found)
    if missing:
        for name, answer in describe(missing):
            if isinstance(answer, ApiError):
                logger.warning("%s: the parent object %s cannot be described (%s)", SETTING_PARENTS, name, answer)
            else:
                found[name] = from_describe(answer)
    return found
