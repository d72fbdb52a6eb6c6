"""The objects a fresh emulated org starts with: six standard objects, X__c and the X__e platform event."""

from __future__ import annotations

from salesforce_emulator.schema import KEY_PREFIXES, FieldDef, ObjectDef, Schema

F = FieldDef

INDUSTRIES = ["Agriculture", "Banking", "Chemicals", "Education", "Energy", "Finance", "Retail", "Technology"]
LEAD_SOURCES = ["Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"]
RATINGS = ["Hot", "Warm", "Cold"]
GEOCODE = ["Address", "NearAddress", "Block", "Street", "ExtendedZip", "Zip", "City", "State", "Unknown"]
STAGES = ["Prospecting", "Qualification", "Needs Analysis", "Proposal/Price Quote", "Closed Won", "Closed Lost"]
LEAD_STATUSES = ["Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted"]
CASE_STATUSES = ["New", "Working", "Escalated", "Closed"]
PRIORITIES = ["High", "Medium", "Low"]
ORIGINS = ["Phone", "Email", "Web"]
X_PICKLIST = ["Alpha", "Beta", "Gamma", "Delta"]
X_RESTRICTED = ["Red", "Green", "Blue"]
X_MULTI = ["One", "Two", "Three", "Four"]


def system_fields(owner: bool = True, queues: bool = False) -> list[FieldDef]:
    """Owner (a user, or with `queues` also a queue: a Group) and the audit fields."""
    fields = []
    if owner:
        fields.append(
            F(
                "OwnerId",
                "reference",
                label="Owner ID",
                nillable=False,
                defaulted_on_create=True,
                # User first: relationship paths (Owner.Name) and parent keys resolve through the first target.
                reference_to=["User", "Group"] if queues else ["User"],
                relationship_name="Owner",
            )
        )
    fields += [
        F("CreatedDate", "datetime", nillable=False, createable=False, updateable=False, defaulted_on_create=True),
        F(
            "CreatedById",
            "reference",
            nillable=False,
            createable=False,
            updateable=False,
            defaulted_on_create=True,
            reference_to=["User"],
            relationship_name="CreatedBy",
        ),
        F("LastModifiedDate", "datetime", nillable=False, createable=False, updateable=False, defaulted_on_create=True),
        F(
            "LastModifiedById",
            "reference",
            nillable=False,
            createable=False,
            updateable=False,
            defaulted_on_create=True,
            reference_to=["User"],
            relationship_name="LastModifiedBy",
        ),
        F("SystemModstamp", "datetime", nillable=False, createable=False, updateable=False, defaulted_on_create=True),
    ]
    return fields


def id_fields() -> list[FieldDef]:
    return [
        F("Id", "id", label="Record ID"),
        F("IsDeleted", "boolean", label="Deleted", createable=False, updateable=False),
    ]


def address(prefix: str, custom: bool = False) -> list[FieldDef]:
    """An address compound and its components (Salesforce names them BillingStreet... or Foo__Street__s...)."""

    def part(name: str) -> str:
        return f"{prefix}__{name}__s" if custom else f"{prefix}{name}"

    compound = f"{prefix}__c" if custom else f"{prefix}Address"
    kw = {"compound_field_name": compound, "custom": custom}
    return [
        F(part("Street"), "textarea", length=255, **kw),
        F(part("City"), "string", length=40, **kw),
        F(part("State"), "string", length=80, **kw),
        F(part("PostalCode"), "string", length=20, **kw),
        F(part("Country"), "string", length=80, **kw),
        F(part("Latitude"), "double", precision=18, scale=15, **kw),
        F(part("Longitude"), "double", precision=18, scale=15, **kw),
        F(part("GeocodeAccuracy"), "picklist", length=40, picklist_values=GEOCODE, restricted_picklist=True, **kw),
        F(compound, "address", custom=custom),
    ]


def name_field(length: int = 255, **kw) -> FieldDef:
    return F("Name", "string", length=length, nillable=kw.pop("nillable", False), name_field=True, **kw)


def picklist(name: str, values: list[str], **kw) -> FieldDef:
    # Standard picklists report length 40 (custom ones 255).
    return F(name, "picklist", length=40, picklist_values=values, **kw)


PERSON_NAME = {"compound_field_name": "Name", "extra_type_info": "personname"}  # how describe marks a name part


def person_name() -> list[FieldDef]:
    return [
        F("LastName", "string", length=80, nillable=False, **PERSON_NAME),
        F("FirstName", "string", length=40, **PERSON_NAME),
        # Salesforce builds Name from the first and last names.
        name_field(
            121,
            createable=False,
            updateable=False,
            nillable=True,
            defaulted_on_create=True,
            extra_type_info="personname",
        ),
    ]


def account() -> ObjectDef:
    return ObjectDef(
        "Account",
        fields=id_fields()
        + [
            name_field(255),
            picklist("Type", ["Prospect", "Customer - Direct", "Customer - Channel", "Partner", "Other"]),
            F(
                "ParentId",
                "reference",
                reference_to=["Account"],
                relationship_name="Parent",
                child_relationship_name="ChildAccounts",
            ),
            *address("Billing"),
            F("Phone", "phone", length=40),
            F("Website", "url", length=255),
            picklist("Industry", INDUSTRIES),
            F("AnnualRevenue", "currency", precision=18, scale=0),
            F("NumberOfEmployees", "int", digits=8),
            F("AccountNumber", "string", length=40),
            picklist("Rating", RATINGS),
            F("Description", "textarea", length=32000),
        ]
        + system_fields(),
    )


def contact() -> ObjectDef:
    return ObjectDef(
        "Contact",
        fields=id_fields()
        + [
            F("AccountId", "reference", reference_to=["Account"], relationship_name="Account"),
            *person_name(),
            picklist("Salutation", ["Mr.", "Ms.", "Mrs.", "Dr.", "Prof."], **PERSON_NAME),
            *address("Mailing"),
            F("Phone", "phone", length=40),
            F("Email", "email", length=80),
            F("Title", "string", length=128),
            picklist("LeadSource", LEAD_SOURCES),
            F("Birthdate", "date"),
            F("Description", "textarea", length=32000),
        ]
        + system_fields(),
    )


def lead() -> ObjectDef:
    return ObjectDef(
        "Lead",
        auto_assign=True,
        fields=id_fields()
        + person_name()
        + [
            F("Company", "string", length=255, nillable=False),
            picklist(
                "Status", LEAD_STATUSES, nillable=False, defaulted_on_create=True, default_value="Open - Not Contacted"
            ),
            F("Email", "email", length=80),
            F("Phone", "phone", length=40),
            picklist("LeadSource", LEAD_SOURCES),
            picklist("Industry", INDUSTRIES),
            picklist("Rating", RATINGS),
            F("AnnualRevenue", "currency", precision=18, scale=0),
            F("NumberOfEmployees", "int", digits=8),
            F("IsConverted", "boolean", default_value=False),
        ]
        + system_fields(queues=True),
    )


def opportunity() -> ObjectDef:
    return ObjectDef(
        "Opportunity",
        fields=id_fields()
        + [
            F("AccountId", "reference", reference_to=["Account"], relationship_name="Account"),
            name_field(120),
            picklist("StageName", STAGES, nillable=False),
            F("Amount", "currency", precision=18, scale=2),
            F("Probability", "percent", precision=3, scale=0),
            F("CloseDate", "date", nillable=False),
            picklist("Type", ["New Customer", "Existing Customer - Upgrade", "Existing Customer - Replacement"]),
            picklist("LeadSource", LEAD_SOURCES),
            F("IsClosed", "boolean", createable=False, updateable=False, calculated=True),
            F("IsWon", "boolean", createable=False, updateable=False, calculated=True),
            F("Description", "textarea", length=32000),
        ]
        + system_fields(),
    )


def case() -> ObjectDef:
    return ObjectDef(
        "Case",
        auto_assign=True,
        fields=id_fields()
        + [
            F(
                "CaseNumber",
                "string",
                length=30,
                createable=False,
                updateable=False,
                auto_number=True,
                defaulted_on_create=True,
                name_field=True,
                nillable=False,
            ),
            F("AccountId", "reference", reference_to=["Account"], relationship_name="Account"),
            F("ContactId", "reference", reference_to=["Contact"], relationship_name="Contact"),
            # A case's parent case; the seed leaves it empty on a fresh org (no cases to point at yet).
            F("ParentId", "reference", reference_to=["Case"], relationship_name="Parent"),
            F("Subject", "string", length=255),
            picklist("Status", CASE_STATUSES, defaulted_on_create=True, default_value="New"),
            picklist("Priority", PRIORITIES, defaulted_on_create=True, default_value="Medium"),
            picklist("Origin", ORIGINS),
            picklist("Type", ["Mechanical", "Electrical", "Electronic", "Structural", "Other"]),
            F("IsClosed", "boolean", createable=False, updateable=False, calculated=True),
            F("ClosedDate", "datetime", createable=False, updateable=False),
            F("Description", "textarea", length=32000),
        ]
        + system_fields(queues=True),
    )


def user() -> ObjectDef:
    return ObjectDef(
        "User",
        fields=id_fields()
        + [
            F("Username", "string", length=80, nillable=False, unique=True, id_lookup=True),
            *person_name(),
            F("Email", "email", length=128, nillable=False),
            F("Alias", "string", length=8, nillable=False),
            F("IsActive", "boolean", default_value=True),
            F("Title", "string", length=80),
        ]
        + system_fields(owner=False),
    )


def group() -> ObjectDef:
    """Groups and queues: a Lead or Case can be owned by a queue."""
    return ObjectDef(
        "Group",
        fields=id_fields()
        + [
            name_field(40),
            F("DeveloperName", "string", length=80, nillable=False),
            picklist("Type", ["Queue", "Regular", "Role", "Organization"], nillable=False, restricted_picklist=True),
            F("Email", "email", length=255),
            F("DoesSendEmailToMembers", "boolean", default_value=False),
        ]
        + system_fields(owner=False),
    )


def x_custom() -> ObjectDef:
    def c(name: str, type_: str, **kw) -> FieldDef:
        return F(name, type_, custom=True, **kw)

    return ObjectDef(
        "X__c",
        label="X",
        custom=True,
        fields=id_fields()
        + [
            # Without a Name, Salesforce names a custom record after its Id.
            name_field(80, nillable=True, defaulted_on_create=True),
            c("External_Id__c", "string", length=255, unique=True, external_id=True, id_lookup=True),
            # An external id that is not unique: an upsert on it can match several records (HTTP 300).
            c("Secondary_Key__c", "string", length=80, external_id=True),
            c("Text__c", "string", length=100),
            c("Text_Area__c", "textarea", length=255),
            c("Long_Text__c", "textarea", length=32768),
            c("Picklist__c", "picklist", length=255, picklist_values=X_PICKLIST),
            c("Restricted_Picklist__c", "picklist", length=255, picklist_values=X_RESTRICTED, restricted_picklist=True),
            c("Multi_Picklist__c", "multipicklist", length=4099, picklist_values=X_MULTI),
            c("Checkbox__c", "boolean", default_value=False),
            c("Number__c", "double", precision=18, scale=2),
            c("Integer__c", "int", digits=9),
            c("Currency__c", "currency", precision=16, scale=2),
            c("Percent__c", "percent", precision=5, scale=2),
            c("Date__c", "date"),
            c("DateTime__c", "datetime"),
            c("Time__c", "time"),
            c("Email__c", "email", length=80),
            c("Phone__c", "phone", length=40),
            c("Url__c", "url", length=255),
            c("Account__c", "reference", reference_to=["Account"], relationship_name="Account__r"),
            c("Attachment__c", "base64", length=32000),
            *address("Address", custom=True),
            c("Location__Latitude__s", "double", precision=18, scale=15, compound_field_name="Location__c"),
            c("Location__Longitude__s", "double", precision=18, scale=15, compound_field_name="Location__c"),
            c("Location__c", "location"),
        ]
        + system_fields(),
    )


def x_event() -> ObjectDef:
    return ObjectDef(
        "X__e",
        label="X Event",
        custom=True,
        queryable=False,
        is_event=True,
        fields=[
            F("ReplayId", "string", length=255, createable=False, updateable=False),
            F("CreatedDate", "datetime", nillable=False, createable=False, updateable=False, defaulted_on_create=True),
            F(
                "CreatedById",
                "reference",
                nillable=False,
                createable=False,
                updateable=False,
                defaulted_on_create=True,
                reference_to=["User"],
                relationship_name="CreatedBy",
            ),
            F("EventUuid", "string", length=36, createable=False, updateable=False),
            F("Message__c", "string", length=255, custom=True, updateable=False),
            F("Order_Id__c", "string", length=40, custom=True, updateable=False),
            F("Amount__c", "double", precision=18, scale=2, custom=True, updateable=False),
        ],
    )


def seeded_schema() -> Schema:
    objects = [account(), contact(), lead(), opportunity(), case(), user(), group(), x_custom(), x_event()]
    for obj in objects:
        obj.key_prefix = KEY_PREFIXES[obj.name]
    return Schema(objects)
