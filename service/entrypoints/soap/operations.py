"""Operation table of the Altinn 2 correspondence contract, both variants.

GENERATED FILE: do not edit. Written by ``python -m service.entrypoints.soap.codegen`` from the published WSDLs.

Use it to declare the spyne ``@rpc`` methods (see :meth:`Operation.rpc_kwargs`) and, in
:mod:`service.entrypoints.soap.wsdlgen`, to write the WSDL we publish.
"""

# ruff: noqa: E501

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from spyne.model.primitive import Integer32, Unicode

from .types import (
    NS_FAULT_2009_10,
    NS_SERVICE,
    NS_SERVICES_2009_10,
    ArrayOfstring,
    CorrespondenceServiceInfo,
    CorrespondenceStatusFilter,
    CorrespondenceStatusFilterV2,
    CorrespondenceStatusFilterV3,
    CorrespondenceStatusInformation,
    CorrespondenceStatusResult,
    CorrespondenceStatusResultV2,
    CorrespondenceStatusResultV3,
    InsertCorrespondence,
    InsertCorrespondenceV2,
    ReceiptExternal,
    SdpStatusInformation,
)


@dataclass(frozen=True)
class Param:
    """One child element of an operation wrapper, or one header element."""

    name: str
    type: Any  # spyne model class, customised with min_occurs / max_occurs / nillable


@dataclass(frozen=True)
class Operation:
    """One wsdl:operation of one variant (``basic``: SOAP 1.1, ``ws``: SOAP 1.2)."""

    variant: str
    name: str
    in_ns: str
    in_element: str
    in_params: tuple[Param, ...]
    out_ns: str
    out_element: str
    out_params: tuple[Param, ...]
    soap_action: str
    input_action: str
    output_action: str
    fault_action: str
    input_message: str
    output_message: str
    fault_message: str
    fault_name: str = "AltinnFaultFault"
    input_name: str | None = None  # wsdl:input/@name in portType and binding (message contracts)
    output_name: str | None = None
    header_message: str | None = None  # wsdl:message holding the soap:header parts
    header_ns: str | None = None
    header_parts: tuple[Param, ...] = ()  # part name == header element name
    fault_ns: str = NS_FAULT_2009_10
    fault_element: str = "AltinnFault"

    @property
    def in_message_name(self) -> str:
        return f"{{{self.in_ns}}}{self.in_element}"

    @property
    def out_message_name(self) -> str:
        return f"{{{self.out_ns}}}{self.out_element}"

    @property
    def in_types(self) -> tuple[Any, ...]:
        return tuple(p.type for p in self.in_params)

    @property
    def in_arg_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.in_params)

    def header_qname(self, part: str) -> str:
        return f"{{{self.header_ns}}}{part}"

    def rpc_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``spyne.rpc(*op.in_types, **op.rpc_kwargs())``.

        The decorated function takes ``ctx`` and then one argument per ``in_params`` entry, named
        like the elements (all are valid Python identifiers). Header parts are not declared here:
        spyne matches ``_in_header`` classes by position, which breaks as soon as a client adds
        other headers (WS-Addressing, WS-Security); read them from ``ctx.in_header_doc`` instead.
        """
        kwargs: dict[str, Any] = {
            "_in_message_name": self.in_message_name,
            "_out_message_name": self.out_message_name,
            "_in_arg_names": {p.name: p.name for p in self.in_params},
            "_wsdl_part_name": "parameters",
        }
        if len(self.out_params) == 1:
            kwargs["_returns"] = self.out_params[0].type
            kwargs["_out_variable_name"] = self.out_params[0].name
        elif self.out_params:
            kwargs["_returns"] = tuple(p.type for p in self.out_params)
            kwargs["_out_variable_names"] = tuple(p.name for p in self.out_params)
        return kwargs


@dataclass(frozen=True)
class Variant:
    """wsdl:definitions facts of one variant."""

    key: str
    definitions_name: str
    target_namespace: str
    port_type: str
    binding: str
    service: str
    port: str
    address: str  # as published; we serve our own public URL instead
    path: str
    soap_version: str
    operations: tuple[Operation, ...]

    def operation(self, name: str) -> Operation:
        for op in self.operations:
            if op.name == name:
                return op
        raise KeyError(name)


BASIC_OPERATIONS: tuple[Operation, ...] = (
    Operation(
        variant="basic",
        name="Test",
        in_ns=NS_SERVICES_2009_10,
        in_element="Test",
        in_params=(),
        out_ns=NS_SERVICES_2009_10,
        out_element="TestResponse",
        out_params=(),
        soap_action="http://www.altinn.no/services/2009/10/IAltinnContractBase/Test",
        input_action="http://www.altinn.no/services/2009/10/IAltinnContractBase/Test",
        output_action="http://www.altinn.no/services/2009/10/IAltinnContractBase/TestResponse",
        fault_action="http://www.altinn.no/services/2009/10/IAltinnContractBase/TestAltinnFaultFault",
        input_message="ICorrespondenceAgencyExternalBasic_Test_InputMessage",
        output_message="ICorrespondenceAgencyExternalBasic_Test_OutputMessage",
        fault_message="ICorrespondenceAgencyExternalBasic_Test_AltinnFaultFault_FaultMessage",
        fault_name="AltinnFaultFault",
        input_name=None,
        output_name=None,
    ),
    Operation(
        variant="basic",
        name="CreateSimpleCorrespondenceServiceBasic",
        in_ns=NS_SERVICE,
        in_element="CreateSimpleCorrespondenceServiceBasic",
        in_params=(
            Param("systemUserName", Unicode(min_occurs=1, nillable=False)),
            Param("systemPassword", Unicode(min_occurs=1, nillable=False)),
            Param("templateServiceCode", Unicode(min_occurs=1, nillable=False)),
            Param("templateServiceEditionCode", Integer32(min_occurs=1, nillable=False)),
        ),
        out_ns=NS_SERVICE,
        out_element="CreateSimpleCorrespondenceServiceBasicResponse",
        out_params=(
            Param(
                "CreateSimpleCorrespondenceServiceBasicResult",
                CorrespondenceServiceInfo.customize(min_occurs=0, nillable=True),
            ),
        ),
        soap_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternalBasic/CreateSimpleCorrespondenceServiceBasic",
        input_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternalBasic/CreateSimpleCorrespondenceServiceBasic",
        output_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternalBasic/CreateSimpleCorrespondenceServiceBasicResponse",
        fault_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternalBasic/CreateSimpleCorrespondenceServiceBasicAltinnFaultFault",
        input_message="ICorrespondenceAgencyExternalBasic_CreateSimpleCorrespondenceServiceBasic_InputMessage",
        output_message="ICorrespondenceAgencyExternalBasic_CreateSimpleCorrespondenceServiceBasic_OutputMessage",
        fault_message="ICorrespondenceAgencyExternalBasic_CreateSimpleCorrespondenceServiceBasic_AltinnFaultFault_FaultMessage",
        fault_name="AltinnFaultFault",
        input_name=None,
        output_name=None,
    ),
    Operation(
        variant="basic",
        name="GetCorrespondenceStatusDetailsBasic",
        in_ns=NS_SERVICE,
        in_element="GetCorrespondenceStatusDetailsBasic",
        in_params=(
            Param("systemUserName", Unicode(min_occurs=1, nillable=False)),
            Param("systemPassword", Unicode(min_occurs=1, nillable=False)),
            Param("filterCriteria", CorrespondenceStatusFilter.customize(min_occurs=1, nillable=False)),
        ),
        out_ns=NS_SERVICE,
        out_element="GetCorrespondenceStatusDetailsBasicResponse",
        out_params=(
            Param(
                "GetCorrespondenceStatusDetailsBasicResult",
                CorrespondenceStatusResult.customize(min_occurs=0, nillable=True),
            ),
        ),
        soap_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternalBasic/GetCorrespondenceStatusDetailsBasic",
        input_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternalBasic/GetCorrespondenceStatusDetailsBasic",
        output_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternalBasic/GetCorrespondenceStatusDetailsBasicResponse",
        fault_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternalBasic/GetCorrespondenceStatusDetailsBasicAltinnFaultFault",
        input_message="ICorrespondenceAgencyExternalBasic_GetCorrespondenceStatusDetailsBasic_InputMessage",
        output_message="ICorrespondenceAgencyExternalBasic_GetCorrespondenceStatusDetailsBasic_OutputMessage",
        fault_message="ICorrespondenceAgencyExternalBasic_GetCorrespondenceStatusDetailsBasic_AltinnFaultFault_FaultMessage",
        fault_name="AltinnFaultFault",
        input_name=None,
        output_name=None,
    ),
    Operation(
        variant="basic",
        name="GetCorrespondenceStatusDetailsBasicV2",
        in_ns=NS_SERVICE,
        in_element="GetCorrespondenceStatusDetailsBasicV2",
        in_params=(
            Param("systemUserName", Unicode(min_occurs=1, nillable=False)),
            Param("systemPassword", Unicode(min_occurs=1, nillable=False)),
            Param("filterCriteria", CorrespondenceStatusFilterV2.customize(min_occurs=1, nillable=False)),
        ),
        out_ns=NS_SERVICE,
        out_element="GetCorrespondenceStatusDetailsBasicV2Response",
        out_params=(
            Param(
                "GetCorrespondenceStatusDetailsBasicV2Result",
                CorrespondenceStatusResultV2.customize(min_occurs=0, nillable=True),
            ),
        ),
        soap_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternalBasic/GetCorrespondenceStatusDetailsBasicV2",
        input_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternalBasic/GetCorrespondenceStatusDetailsBasicV2",
        output_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternalBasic/GetCorrespondenceStatusDetailsBasicV2Response",
        fault_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternalBasic/GetCorrespondenceStatusDetailsBasicV2AltinnFaultFault",
        input_message="ICorrespondenceAgencyExternalBasic_GetCorrespondenceStatusDetailsBasicV2_InputMessage",
        output_message="ICorrespondenceAgencyExternalBasic_GetCorrespondenceStatusDetailsBasicV2_OutputMessage",
        fault_message="ICorrespondenceAgencyExternalBasic_GetCorrespondenceStatusDetailsBasicV2_AltinnFaultFault_FaultMessage",
        fault_name="AltinnFaultFault",
        input_name=None,
        output_name=None,
    ),
    Operation(
        variant="basic",
        name="GetCorrespondenceStatusDetailsBasicV3",
        in_ns=NS_SERVICE,
        in_element="GetCorrespondenceStatusDetailsBasicV3",
        in_params=(
            Param("systemUserName", Unicode(min_occurs=1, nillable=False)),
            Param("systemPassword", Unicode(min_occurs=1, nillable=False)),
            Param("filterCriteria", CorrespondenceStatusFilterV3.customize(min_occurs=1, nillable=False)),
        ),
        out_ns=NS_SERVICE,
        out_element="GetCorrespondenceStatusDetailsBasicV3Response",
        out_params=(
            Param(
                "GetCorrespondenceStatusDetailsBasicV3Result",
                CorrespondenceStatusResultV3.customize(min_occurs=0, nillable=True),
            ),
        ),
        soap_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternalBasic/GetCorrespondenceStatusDetailsBasicV3",
        input_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternalBasic/GetCorrespondenceStatusDetailsBasicV3",
        output_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternalBasic/GetCorrespondenceStatusDetailsBasicV3Response",
        fault_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternalBasic/GetCorrespondenceStatusDetailsBasicV3AltinnFaultFault",
        input_message="ICorrespondenceAgencyExternalBasic_GetCorrespondenceStatusDetailsBasicV3_InputMessage",
        output_message="ICorrespondenceAgencyExternalBasic_GetCorrespondenceStatusDetailsBasicV3_OutputMessage",
        fault_message="ICorrespondenceAgencyExternalBasic_GetCorrespondenceStatusDetailsBasicV3_AltinnFaultFault_FaultMessage",
        fault_name="AltinnFaultFault",
        input_name=None,
        output_name=None,
    ),
    Operation(
        variant="basic",
        name="GetCorrespondenceStatusHistoryBasic",
        in_ns=NS_SERVICE,
        in_element="CorrespondenceStatusHistoryRequest",
        in_params=(
            Param("CorrespondenceSendersReferences", ArrayOfstring.customize(min_occurs=0, nillable=True)),
        ),
        out_ns=NS_SERVICE,
        out_element="CorrespondenceStatusHistoryResult",
        out_params=(
            Param(
                "CorrespondenceStatusInformation",
                CorrespondenceStatusInformation.customize(min_occurs=0, nillable=True),
            ),
            Param("SdpStatusInformation", SdpStatusInformation.customize(min_occurs=0, nillable=True)),
        ),
        soap_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternalBasic/GetCorrespondenceStatusHistoryBasic",
        input_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternalBasic/GetCorrespondenceStatusHistoryBasic",
        output_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternalBasic/GetCorrespondenceStatusHistoryBasicResponse",
        fault_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternalBasic/GetCorrespondenceStatusHistoryBasicAltinnFaultFault",
        input_message="CorrespondenceStatusHistoryRequest",
        output_message="CorrespondenceStatusHistoryResult",
        fault_message="ICorrespondenceAgencyExternalBasic_GetCorrespondenceStatusHistoryBasic_AltinnFaultFault_FaultMessage",
        fault_name="AltinnFaultFault",
        input_name="CorrespondenceStatusHistoryRequest",
        output_name="CorrespondenceStatusHistoryResult",
        header_message="CorrespondenceStatusHistoryRequest_Headers",
        header_ns=NS_SERVICE,
        header_parts=(
            Param("SystemPassword", Unicode(min_occurs=1, nillable=True)),
            Param("SystemUserName", Unicode(min_occurs=1, nillable=True)),
        ),
    ),
    Operation(
        variant="basic",
        name="InsertCorrespondenceBasic",
        in_ns=NS_SERVICE,
        in_element="InsertCorrespondenceBasic",
        in_params=(
            Param("systemUserName", Unicode(min_occurs=0, nillable=True)),
            Param("systemPassword", Unicode(min_occurs=0, nillable=True)),
            Param("SystemUserCode", Unicode(min_occurs=0, nillable=True)),
            Param("ExternalReference", Unicode(min_occurs=0, nillable=True)),
            Param("Correspondence", InsertCorrespondence.customize(min_occurs=0, nillable=True)),
        ),
        out_ns=NS_SERVICE,
        out_element="InsertCorrespondenceBasicResponse",
        out_params=(
            Param("InsertCorrespondenceBasicResult", ReceiptExternal.customize(min_occurs=0, nillable=True)),
        ),
        soap_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternalBasic/InsertCorrespondenceBasic",
        input_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternalBasic/InsertCorrespondenceBasic",
        output_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternalBasic/InsertCorrespondenceBasicResponse",
        fault_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternalBasic/InsertCorrespondenceBasicAltinnFaultFault",
        input_message="ICorrespondenceAgencyExternalBasic_InsertCorrespondenceBasic_InputMessage",
        output_message="ICorrespondenceAgencyExternalBasic_InsertCorrespondenceBasic_OutputMessage",
        fault_message="ICorrespondenceAgencyExternalBasic_InsertCorrespondenceBasic_AltinnFaultFault_FaultMessage",
        fault_name="AltinnFaultFault",
        input_name=None,
        output_name=None,
    ),
    Operation(
        variant="basic",
        name="InsertCorrespondenceBasicV2",
        in_ns=NS_SERVICE,
        in_element="InsertCorrespondenceBasicV2",
        in_params=(
            Param("systemUserName", Unicode(min_occurs=1, nillable=False)),
            Param("systemPassword", Unicode(min_occurs=1, nillable=False)),
            Param("SystemUserCode", Unicode(min_occurs=1, nillable=False)),
            Param("ExternalShipmentReference", Unicode(min_occurs=1, nillable=False)),
            Param("Correspondence", InsertCorrespondenceV2.customize(min_occurs=1, nillable=False)),
        ),
        out_ns=NS_SERVICE,
        out_element="InsertCorrespondenceBasicV2Response",
        out_params=(
            Param(
                "InsertCorrespondenceBasicV2Result", ReceiptExternal.customize(min_occurs=0, nillable=True)
            ),
        ),
        soap_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternalBasic/InsertCorrespondenceBasicV2",
        input_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternalBasic/InsertCorrespondenceBasicV2",
        output_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternalBasic/InsertCorrespondenceBasicV2Response",
        fault_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternalBasic/InsertCorrespondenceBasicV2AltinnFaultFault",
        input_message="ICorrespondenceAgencyExternalBasic_InsertCorrespondenceBasicV2_InputMessage",
        output_message="ICorrespondenceAgencyExternalBasic_InsertCorrespondenceBasicV2_OutputMessage",
        fault_message="ICorrespondenceAgencyExternalBasic_InsertCorrespondenceBasicV2_AltinnFaultFault_FaultMessage",
        fault_name="AltinnFaultFault",
        input_name=None,
        output_name=None,
    ),
)

WS_OPERATIONS: tuple[Operation, ...] = (
    Operation(
        variant="ws",
        name="Test",
        in_ns=NS_SERVICES_2009_10,
        in_element="Test",
        in_params=(),
        out_ns=NS_SERVICES_2009_10,
        out_element="TestResponse",
        out_params=(),
        soap_action="http://www.altinn.no/services/2009/10/IAltinnContractBase/Test",
        input_action="http://www.altinn.no/services/2009/10/IAltinnContractBase/Test",
        output_action="http://www.altinn.no/services/2009/10/IAltinnContractBase/TestResponse",
        fault_action="http://www.altinn.no/services/2009/10/IAltinnContractBase/TestAltinnFaultFault",
        input_message="ICorrespondenceAgencyExternal_Test_InputMessage",
        output_message="ICorrespondenceAgencyExternal_Test_OutputMessage",
        fault_message="ICorrespondenceAgencyExternal_Test_AltinnFaultFault_FaultMessage",
        fault_name="AltinnFaultFault",
        input_name=None,
        output_name=None,
    ),
    Operation(
        variant="ws",
        name="CreateSimpleCorrespondenceService",
        in_ns=NS_SERVICE,
        in_element="CreateSimpleCorrespondenceService",
        in_params=(
            Param("templateServiceCode", Unicode(min_occurs=1, nillable=False)),
            Param("templateServiceEditionCode", Integer32(min_occurs=1, nillable=False)),
        ),
        out_ns=NS_SERVICE,
        out_element="CreateSimpleCorrespondenceServiceResponse",
        out_params=(
            Param(
                "CreateSimpleCorrespondenceServiceResult",
                CorrespondenceServiceInfo.customize(min_occurs=0, nillable=True),
            ),
        ),
        soap_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternal/CreateSimpleCorrespondenceService",
        input_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternal/CreateSimpleCorrespondenceService",
        output_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternal/CreateSimpleCorrespondenceServiceResponse",
        fault_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternal/CreateSimpleCorrespondenceServiceAltinnFaultFault",
        input_message="ICorrespondenceAgencyExternal_CreateSimpleCorrespondenceService_InputMessage",
        output_message="ICorrespondenceAgencyExternal_CreateSimpleCorrespondenceService_OutputMessage",
        fault_message="ICorrespondenceAgencyExternal_CreateSimpleCorrespondenceService_AltinnFaultFault_FaultMessage",
        fault_name="AltinnFaultFault",
        input_name=None,
        output_name=None,
    ),
    Operation(
        variant="ws",
        name="GetCorrespondenceStatusDetails",
        in_ns=NS_SERVICE,
        in_element="GetCorrespondenceStatusDetails",
        in_params=(
            Param("filterCriteria", CorrespondenceStatusFilter.customize(min_occurs=1, nillable=False)),
        ),
        out_ns=NS_SERVICE,
        out_element="GetCorrespondenceStatusDetailsResponse",
        out_params=(
            Param(
                "GetCorrespondenceStatusDetailsResult",
                CorrespondenceStatusResult.customize(min_occurs=0, nillable=True),
            ),
        ),
        soap_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternal/GetCorrespondenceStatusDetails",
        input_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternal/GetCorrespondenceStatusDetails",
        output_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternal/GetCorrespondenceStatusDetailsResponse",
        fault_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternal/GetCorrespondenceStatusDetailsAltinnFaultFault",
        input_message="ICorrespondenceAgencyExternal_GetCorrespondenceStatusDetails_InputMessage",
        output_message="ICorrespondenceAgencyExternal_GetCorrespondenceStatusDetails_OutputMessage",
        fault_message="ICorrespondenceAgencyExternal_GetCorrespondenceStatusDetails_AltinnFaultFault_FaultMessage",
        fault_name="AltinnFaultFault",
        input_name=None,
        output_name=None,
    ),
    Operation(
        variant="ws",
        name="GetCorrespondenceStatusDetailsV2",
        in_ns=NS_SERVICE,
        in_element="GetCorrespondenceStatusDetailsV2",
        in_params=(
            Param("filterCriteria", CorrespondenceStatusFilterV2.customize(min_occurs=1, nillable=False)),
        ),
        out_ns=NS_SERVICE,
        out_element="GetCorrespondenceStatusDetailsV2Response",
        out_params=(
            Param(
                "GetCorrespondenceStatusDetailsV2Result",
                CorrespondenceStatusResultV2.customize(min_occurs=0, nillable=True),
            ),
        ),
        soap_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternal/GetCorrespondenceStatusDetailsV2",
        input_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternal/GetCorrespondenceStatusDetailsV2",
        output_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternal/GetCorrespondenceStatusDetailsV2Response",
        fault_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternal/GetCorrespondenceStatusDetailsV2AltinnFaultFault",
        input_message="ICorrespondenceAgencyExternal_GetCorrespondenceStatusDetailsV2_InputMessage",
        output_message="ICorrespondenceAgencyExternal_GetCorrespondenceStatusDetailsV2_OutputMessage",
        fault_message="ICorrespondenceAgencyExternal_GetCorrespondenceStatusDetailsV2_AltinnFaultFault_FaultMessage",
        fault_name="AltinnFaultFault",
        input_name=None,
        output_name=None,
    ),
    Operation(
        variant="ws",
        name="GetCorrespondenceStatusDetailsV3",
        in_ns=NS_SERVICE,
        in_element="GetCorrespondenceStatusDetailsV3",
        in_params=(
            Param("filterCriteria", CorrespondenceStatusFilterV3.customize(min_occurs=1, nillable=False)),
        ),
        out_ns=NS_SERVICE,
        out_element="GetCorrespondenceStatusDetailsV3Response",
        out_params=(
            Param(
                "GetCorrespondenceStatusDetailsV3Result",
                CorrespondenceStatusResultV3.customize(min_occurs=0, nillable=True),
            ),
        ),
        soap_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternal/GetCorrespondenceStatusDetailsV3",
        input_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternal/GetCorrespondenceStatusDetailsV3",
        output_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternal/GetCorrespondenceStatusDetailsV3Response",
        fault_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternal/GetCorrespondenceStatusDetailsV3AltinnFaultFault",
        input_message="ICorrespondenceAgencyExternal_GetCorrespondenceStatusDetailsV3_InputMessage",
        output_message="ICorrespondenceAgencyExternal_GetCorrespondenceStatusDetailsV3_OutputMessage",
        fault_message="ICorrespondenceAgencyExternal_GetCorrespondenceStatusDetailsV3_AltinnFaultFault_FaultMessage",
        fault_name="AltinnFaultFault",
        input_name=None,
        output_name=None,
    ),
    Operation(
        variant="ws",
        name="GetCorrespondenceStatusHistory",
        in_ns=NS_SERVICE,
        in_element="CorrespondenceStatusHistoryRequest",
        in_params=(
            Param("CorrespondenceSendersReferences", ArrayOfstring.customize(min_occurs=0, nillable=True)),
        ),
        out_ns=NS_SERVICE,
        out_element="CorrespondenceStatusHistoryResult",
        out_params=(
            Param(
                "CorrespondenceStatusInformation",
                CorrespondenceStatusInformation.customize(min_occurs=0, nillable=True),
            ),
            Param("SdpStatusInformation", SdpStatusInformation.customize(min_occurs=0, nillable=True)),
        ),
        soap_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternal/GetCorrespondenceStatusHistory",
        input_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternal/GetCorrespondenceStatusHistory",
        output_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternal/GetCorrespondenceStatusHistoryResponse",
        fault_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternal/GetCorrespondenceStatusHistoryAltinnFaultFault",
        input_message="CorrespondenceStatusHistoryRequestExternalBE",
        output_message="CorrespondenceStatusHistoryResultExternalBE",
        fault_message="ICorrespondenceAgencyExternal_GetCorrespondenceStatusHistory_AltinnFaultFault_FaultMessage",
        fault_name="AltinnFaultFault",
        input_name="CorrespondenceStatusHistoryRequestExternalBE",
        output_name="CorrespondenceStatusHistoryResultExternalBE",
    ),
    Operation(
        variant="ws",
        name="InsertCorrespondence",
        in_ns=NS_SERVICE,
        in_element="InsertCorrespondence",
        in_params=(
            Param("SystemUserCode", Unicode(min_occurs=0, nillable=True)),
            Param("ExternalReference", Unicode(min_occurs=0, nillable=True)),
            Param("Correspondence", InsertCorrespondence.customize(min_occurs=0, nillable=True)),
        ),
        out_ns=NS_SERVICE,
        out_element="InsertCorrespondenceResponse",
        out_params=(
            Param("InsertCorrespondenceResult", ReceiptExternal.customize(min_occurs=0, nillable=True)),
        ),
        soap_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternal/InsertCorrespondence",
        input_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternal/InsertCorrespondence",
        output_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternal/InsertCorrespondenceResponse",
        fault_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternal/InsertCorrespondenceAltinnFaultFault",
        input_message="ICorrespondenceAgencyExternal_InsertCorrespondence_InputMessage",
        output_message="ICorrespondenceAgencyExternal_InsertCorrespondence_OutputMessage",
        fault_message="ICorrespondenceAgencyExternal_InsertCorrespondence_AltinnFaultFault_FaultMessage",
        fault_name="AltinnFaultFault",
        input_name=None,
        output_name=None,
    ),
    Operation(
        variant="ws",
        name="InsertCorrespondenceV2",
        in_ns=NS_SERVICE,
        in_element="InsertCorrespondenceV2",
        in_params=(
            Param("SystemUserCode", Unicode(min_occurs=1, nillable=False)),
            Param("ExternalShipmentReference", Unicode(min_occurs=1, nillable=False)),
            Param("Correspondence", InsertCorrespondenceV2.customize(min_occurs=1, nillable=False)),
        ),
        out_ns=NS_SERVICE,
        out_element="InsertCorrespondenceV2Response",
        out_params=(
            Param("InsertCorrespondenceV2Result", ReceiptExternal.customize(min_occurs=0, nillable=True)),
        ),
        soap_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternal/InsertCorrespondenceV2",
        input_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternal/InsertCorrespondenceV2",
        output_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternal/InsertCorrespondenceV2Response",
        fault_action="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternal/InsertCorrespondenceV2AltinnFaultFault",
        input_message="ICorrespondenceAgencyExternal_InsertCorrespondenceV2_InputMessage",
        output_message="ICorrespondenceAgencyExternal_InsertCorrespondenceV2_OutputMessage",
        fault_message="ICorrespondenceAgencyExternal_InsertCorrespondenceV2_AltinnFaultFault_FaultMessage",
        fault_name="AltinnFaultFault",
        input_name=None,
        output_name=None,
    ),
)

BASIC = Variant(
    key="basic",
    definitions_name="CorrespondenceAgencyExternalBasicSF",
    target_namespace="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10",
    port_type="ICorrespondenceAgencyExternalBasic",
    binding="BasicHttpBinding_ICorrespondenceAgencyExternalBasic",
    service="CorrespondenceAgencyExternalBasicSF",
    port="BasicHttpBinding_ICorrespondenceAgencyExternalBasic",
    address="https://www.altinn.no/ServiceEngineExternal/CorrespondenceAgencyExternalBasic.svc",
    path="/ServiceEngineExternal/CorrespondenceAgencyExternalBasic.svc",
    soap_version="1.1",
    operations=BASIC_OPERATIONS,
)

WS = Variant(
    key="ws",
    definitions_name="CorrespondenceAgencyExternalSF",
    target_namespace="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10",
    port_type="ICorrespondenceAgencyExternal",
    binding="CustomBinding_ICorrespondenceAgencyExternal",
    service="CorrespondenceAgencyExternalSF",
    port="CustomBinding_ICorrespondenceAgencyExternal",
    address="https://www.altinn.no/ServiceEngineExternal/CorrespondenceAgencyExternal.svc",
    path="/ServiceEngineExternal/CorrespondenceAgencyExternal.svc",
    soap_version="1.2",
    operations=WS_OPERATIONS,
)

VARIANTS: dict[str, Variant] = {"basic": BASIC, "ws": WS}


def operation(variant: str, name: str) -> Operation:
    return VARIANTS[variant].operation(name)


def route_by_request_element(app: Any) -> None:
    """Make a spyne ``Application`` dispatch on the full QName of each request wrapper element.

    spyne 2.14 files every method under ``{app.tns}<wrapper name>``, whatever namespace the wrapper
    element has. ``Test`` is the one operation whose wrapper is in another namespace
    (``http://www.altinn.no/services/2009/10``): without this its requests find no method
    (``Client.ResourceNotFound``). Call once, right after building the Application.
    """
    smm = app.interface.service_method_map
    for key in list(smm):
        for method in list(smm[key]):
            qname = f"{{{method.in_message.get_namespace()}}}{method.name}"
            if qname != key:
                smm.setdefault(qname, []).append(method)
                smm[key].remove(method)
        if not smm[key]:
            del smm[key]


# Keep the primitive imports referenced even when no table entry needs one of them.
_PRIMITIVES = (Integer32, Unicode)
