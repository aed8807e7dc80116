"""Validation of InsertCorrespondenceV2 (docs/specification.md §2.1). Each failure names the contract field."""

from __future__ import annotations

from .model import LANGUAGE_CODES, InsertCorrespondence, ValidationError

_FNR_W1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_FNR_W2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
_ORG_W = (3, 2, 7, 6, 5, 4, 3, 2)

EMAIL_TEXT_MAX = 500
SMS_TEXT_MAX = 160
MAX_REPETITIONS = 10
MAX_DAYS_DELAYED = 25


def _mod11(digits: list[int], weights: tuple[int, ...]) -> int | None:
    rest = sum(d * w for d, w in zip(digits, weights, strict=False)) % 11
    check = 0 if rest == 0 else 11 - rest
    return None if check == 10 else check


def is_valid_person_number(value: str) -> bool:
    """Fødselsnummer or d-nummer: 11 digits, both mod-11 check digits valid."""
    if len(value) != 11 or not value.isdigit():
        return False
    d = [int(c) for c in value]
    return _mod11(d[:9], _FNR_W1) == d[9] and _mod11(d[:10], _FNR_W2) == d[10]


def is_valid_organisation_number(value: str) -> bool:
    if len(value) != 9 or not value.isdigit():
        return False
    d = [int(c) for c in value]
    return _mod11(d[:8], _ORG_W) == d[8]


def reportee_kind(value: str | None) -> str | None:
    """'person', 'organisation' or None (invalid)."""
    if not value:
        return None
    if is_valid_person_number(value):
        return "person"
    if is_valid_organisation_number(value):
        return "organisation"
    return None


def _blank(v: str | None) -> bool:
    return v is None or not v.strip()


def validate(req: InsertCorrespondence) -> list[ValidationError]:
    errors: list[ValidationError] = []

    def need(value: str | None, name: str) -> None:
        if _blank(value):
            errors.append(ValidationError(name, "is required"))

    need(req.system_user_code, "SystemUserCode")
    need(req.external_shipment_reference, "ExternalShipmentReference")
    need(req.service_code, "Correspondence/ServiceCode")
    need(req.service_edition, "Correspondence/ServiceEdition")
    if req.service_edition and not _blank(req.service_edition) and not req.service_edition.strip().isdigit():
        errors.append(ValidationError("Correspondence/ServiceEdition", "must be a whole number"))
    if _blank(req.reportee):
        errors.append(ValidationError("Correspondence/Reportee", "is required"))
    elif reportee_kind(req.reportee) is None:
        errors.append(
            ValidationError(
                "Correspondence/Reportee",
                "must be an 11-digit fødselsnummer/d-nummer or a 9-digit organisation number with valid "
                "check digits",
            )
        )
    if _blank(req.language_code):
        errors.append(ValidationError("Correspondence/Content/LanguageCode", "is required"))
    elif req.language_code not in LANGUAGE_CODES:
        errors.append(
            ValidationError(
                "Correspondence/Content/LanguageCode", f"must be one of {', '.join(LANGUAGE_CODES)}"
            )
        )
    need(req.message_title, "Correspondence/Content/MessageTitle")
    for i, att in enumerate(req.attachments, start=1):
        if _blank(att.file_name):
            errors.append(
                ValidationError(
                    f"Correspondence/Content/Attachments/BinaryAttachments[{i}]/FileName", "is required"
                )
            )
        if not att.data:
            errors.append(
                ValidationError(
                    f"Correspondence/Content/Attachments/BinaryAttachments[{i}]/Data", "is required"
                )
            )

    sdp = req.sdp_options
    if sdp is not None:
        base = "Correspondence/SdpOptions"
        if _blank(sdp.sdp_setting):
            errors.append(ValidationError(f"{base}/SdpSetting", "is required (ForwardOnly or CopyAltinn)"))
        elif sdp.sdp_setting not in ("ForwardOnly", "CopyAltinn"):
            errors.append(ValidationError(f"{base}/SdpSetting", "must be ForwardOnly or CopyAltinn"))
        if _blank(sdp.primary_document_file_name):
            errors.append(ValidationError(f"{base}/PrimaryDocumentFileName", "is required"))
        elif not any(a.file_name == sdp.primary_document_file_name for a in req.attachments):
            errors.append(
                ValidationError(
                    f"{base}/PrimaryDocumentFileName",
                    f"no BinaryAttachmentV2 has FileName '{sdp.primary_document_file_name}'",
                )
            )
        for n in sdp.notifications:
            name = "EmailNotification" if n.kind == "epost" else "SmsNotification"
            limit = EMAIL_TEXT_MAX if n.kind == "epost" else SMS_TEXT_MAX
            path = f"{base}/SdpNotifications/{name}"
            if n.text is None or not (1 <= len(n.text) <= limit):
                errors.append(ValidationError(f"{path}/NotificationText", f"must be 1..{limit} characters"))
            if len(n.days_delayed) > MAX_REPETITIONS:
                errors.append(
                    ValidationError(f"{path}/Repetitions", f"at most {MAX_REPETITIONS} repetitions")
                )
            if any(not (0 <= d <= MAX_DAYS_DELAYED) for d in n.days_delayed):
                errors.append(
                    ValidationError(f"{path}/Repetitions", f"DaysDelayed must be 0..{MAX_DAYS_DELAYED}")
                )
    return errors
