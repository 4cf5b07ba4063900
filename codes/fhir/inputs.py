"""An operation's input parameters, read once from the query string (GET) or a Parameters body
(POST, JSON or XML), with their FHIR types kept: a Coding stays a Coding, a boolean a boolean.

Parameters nobody reads are ignored, as FHIR servers do; a parameter of the wrong type is a 400
that names it.
"""

from dataclasses import dataclass

from codes.api.errors import INVALID_PARAMETER, ApiError

# The value[x] types of a Parameters input that are read as text.
TEXT_TYPES = (
    "valueCode",
    "valueString",
    "valueUri",
    "valueUrl",
    "valueCanonical",
    "valueDate",
    "valueDateTime",
    "valueId",
)
CODING_FIELDS = ("system", "version", "code", "display")


@dataclass(frozen=True)
class Coding:
    """A Coding as sent: None where a field was not given."""

    system: str | None = None
    version: str | None = None
    code: str | None = None
    display: str | None = None


class Inputs:
    """name -> the values given, in order; each a str, bool, int, Coding, list of Codings (a
    CodeableConcept) or dict (a resource)."""

    def __init__(self) -> None:
        self.values: dict[str, list] = {}

    def add(self, name: str, value) -> None:
        self.values.setdefault(name, []).append(value)

    def given(self, name: str) -> bool:
        return name in self.values

    def text(self, name: str) -> str:
        """The first value of a text parameter, "" when absent."""
        for value in self.values.get(name, []):
            if not isinstance(value, str):
                raise ApiError(f"{name} must be text", code=INVALID_PARAMETER, field=name)
            return value
        return ""

    def texts(self, name: str) -> list[str]:
        found = []
        for value in self.values.get(name, []):
            if not isinstance(value, str):
                raise ApiError(f"{name} must be text", code=INVALID_PARAMETER, field=name)
            found.append(value)
        return found

    def boolean(self, name: str, default: bool | None = None) -> bool | None:
        for value in self.values.get(name, []):
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in ("true", "false"):
                return value.strip().lower() == "true"
            raise ApiError(f"{name} must be true or false", code=INVALID_PARAMETER, field=name)
        return default

    def integer(self, name: str, *, minimum: int = 0) -> int | None:
        for value in self.values.get(name, []):
            number = value if isinstance(value, int) and not isinstance(value, bool) else None
            if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
                number = int(value.strip())
            if number is None or number < minimum:
                raise ApiError(
                    f"{name} must be a whole number, at least {minimum}",
                    code=INVALID_PARAMETER,
                    field=name,
                )
            return number
        return None

    def coding(self, name: str) -> Coding | None:
        for value in self.values.get(name, []):
            if isinstance(value, Coding):
                return value
            if isinstance(value, str):
                # GET: a token, system|code (or a bare code).
                system, bar, code = value.rpartition("|")
                return Coding(system=system or None, code=code) if bar else Coding(code=value)
            raise ApiError(f"{name} must be a Coding", code=INVALID_PARAMETER, field=name)
        return None

    def codeable_concept(self, name: str) -> list[Coding] | None:
        for value in self.values.get(name, []):
            if isinstance(value, list):
                return value
            raise ApiError(
                f"{name} must be a CodeableConcept (POST a Parameters resource)",
                code=INVALID_PARAMETER,
                field=name,
            )
        return None

    def resource(self, name: str) -> dict | None:
        for value in self.values.get(name, []):
            if isinstance(value, dict):
                return value
            raise ApiError(f"{name} must be a resource", code=INVALID_PARAMETER, field=name)
        return None


def from_query(query_params, inputs: Inputs | None = None) -> Inputs:
    inputs = inputs or Inputs()
    for name in query_params:
        for value in query_params.getlist(name):
            inputs.add(name, value)
    return inputs


def from_parameters(body: object) -> Inputs:
    """The inputs of a Parameters resource (as JSON decodes it)."""
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        raise ApiError(
            "the body must be a FHIR Parameters resource", code=INVALID_PARAMETER, field="body"
        )
    parameters = body.get("parameter", [])
    if not isinstance(parameters, list):
        raise ApiError(
            "Parameters.parameter must be a list", code=INVALID_PARAMETER, field="parameter"
        )
    inputs = Inputs()
    for position, parameter in enumerate(parameters):
        field = f"parameter[{position}]"
        if not isinstance(parameter, dict) or not isinstance(parameter.get("name"), str):
            raise ApiError("each parameter needs a name", code=INVALID_PARAMETER, field=field)
        value = _value(parameter, field)
        if value is not None:
            inputs.add(parameter["name"], value)
    return inputs


def _value(parameter: dict, field: str):
    """The parameter's value as Inputs keeps it; None for one without a value we read (a part
    list, a type no operation here takes)."""
    if "valueCoding" in parameter:
        return _coding(parameter["valueCoding"], field=f"{field}.valueCoding")
    if "valueCodeableConcept" in parameter:
        concept = parameter["valueCodeableConcept"]
        codings = concept.get("coding", []) if isinstance(concept, dict) else None
        if not isinstance(codings, list):
            raise ApiError(
                "a CodeableConcept needs a list of codings",
                code=INVALID_PARAMETER,
                field=f"{field}.valueCodeableConcept",
            )
        return [
            _coding(coding, field=f"{field}.valueCodeableConcept.coding[{position}]")
            for position, coding in enumerate(codings)
        ]
    if "valueBoolean" in parameter:
        if not isinstance(parameter["valueBoolean"], bool):
            raise ApiError(
                "valueBoolean must be true or false", code=INVALID_PARAMETER, field=field
            )
        return parameter["valueBoolean"]
    for key in ("valueInteger", "valueUnsignedInt", "valuePositiveInt"):
        if key in parameter:
            number = parameter[key]
            if not isinstance(number, int) or isinstance(number, bool):
                raise ApiError(f"{key} must be a number", code=INVALID_PARAMETER, field=field)
            return number
    if "resource" in parameter:
        if not isinstance(parameter["resource"], dict):
            raise ApiError("resource must be an object", code=INVALID_PARAMETER, field=field)
        return parameter["resource"]
    for key in TEXT_TYPES:
        if key in parameter:
            if not isinstance(parameter[key], str):
                raise ApiError(f"{key} must be a string", code=INVALID_PARAMETER, field=field)
            return parameter[key]
    return None


def _coding(coding: object, *, field: str) -> Coding:
    if not isinstance(coding, dict):
        raise ApiError("a Coding must be an object", code=INVALID_PARAMETER, field=field)
    values = {}
    for name in CODING_FIELDS:
        value = coding.get(name)
        if value is not None and not isinstance(value, str):
            raise ApiError(f"{field}.{name} must be a string", code=INVALID_PARAMETER, field=field)
        values[name] = value
    return Coding(**values)
