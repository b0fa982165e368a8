"""The Sparkplug B payload as protobuf message classes, built with the ``protobuf`` runtime.

The wire format is the one of Eclipse Sparkplug B 3.0 (``sparkplug_b.proto``, package
``org.eclipse.tahu.protobuf``, proto2): the messages, field numbers and types below are that
schema's, written out as a ``FileDescriptorProto`` so no ``protoc`` step or generated file is
needed. :data:`Payload` is the top-level message class; :class:`DataType` the metric data types.

Signed integers travel in the unsigned fields as two's complement (Int8/16/32 in the 32-bit
``int_value``, Int64 in the 64-bit ``long_value``): :func:`metric_value` and
:func:`set_metric_value` convert.

Example::

    >>> p = Payload(timestamp=1_700_000_000_000, seq=3)
    >>> m = p.metrics.add(name="Gas/GD-01", alias=7, datatype=DataType.Int16)
    >>> set_metric_value(m, -5)
    >>> q = Payload.FromString(p.SerializeToString())
    >>> q.seq, q.metrics[0].name, q.metrics[0].int_value, metric_value(q.metrics[0])
    (3, 'Gas/GD-01', 4294967291, -5)
"""
from __future__ import annotations

from enum import IntEnum
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

__all__ = ["DataType", "Payload", "metric_value", "set_metric_value"]

PACKAGE = "org.eclipse.tahu.protobuf"


class DataType(IntEnum):
    """Sparkplug B metric data types (``DataType`` enum of the schema)."""

    Unknown = 0
    Int8 = 1
    Int16 = 2
    Int32 = 3
    Int64 = 4
    UInt8 = 5
    UInt16 = 6
    UInt32 = 7
    UInt64 = 8
    Float = 9
    Double = 10
    Boolean = 11
    String = 12
    DateTime = 13
    Text = 14
    UUID = 15
    DataSet = 16
    Bytes = 17
    File = 18
    Template = 19
    PropertySet = 20
    PropertySetList = 21
    Int8Array = 22
    Int16Array = 23
    Int32Array = 24
    Int64Array = 25
    UInt8Array = 26
    UInt16Array = 27
    UInt32Array = 28
    UInt64Array = 29
    FloatArray = 30
    DoubleArray = 31
    BooleanArray = 32
    StringArray = 33
    DateTimeArray = 34


_F = descriptor_pb2.FieldDescriptorProto
_OPT, _REP = _F.LABEL_OPTIONAL, _F.LABEL_REPEATED
_SCALARS = {"uint32": _F.TYPE_UINT32, "uint64": _F.TYPE_UINT64, "float": _F.TYPE_FLOAT, "double": _F.TYPE_DOUBLE,
            "bool": _F.TYPE_BOOL, "string": _F.TYPE_STRING, "bytes": _F.TYPE_BYTES}
_P = f".{PACKAGE}.Payload"
#: the scalar members of every ``value`` oneof (field name → type), in the schema's order
_VALUES = (("int_value", "uint32"), ("long_value", "uint64"), ("float_value", "float"), ("double_value", "double"),
           ("boolean_value", "bool"), ("string_value", "string"))


def _message(name: str, fields: list[tuple[str, int, str, bool, int | None]], *, extensions_from: int | None = None,
             nested: list[descriptor_pb2.DescriptorProto] = (), oneof: bool = False) -> descriptor_pb2.DescriptorProto:
    """One message: ``fields`` are (name, number, type — a scalar name or a full message name —,
    repeated, oneof index or None); ``extensions_from``: the ``extensions N to max`` range."""
    msg = descriptor_pb2.DescriptorProto(name=name)
    for fname, number, ftype, repeated, in_oneof in fields:
        f = msg.field.add(name=fname, number=number, label=_REP if repeated else _OPT)
        if ftype in _SCALARS:
            f.type = _SCALARS[ftype]
        else:
            f.type, f.type_name = _F.TYPE_MESSAGE, ftype
        if in_oneof is not None:
            f.oneof_index = in_oneof
    if oneof:
        msg.oneof_decl.add(name="value")
    if extensions_from is not None:
        msg.extension_range.add(start=extensions_from, end=536870912)
    msg.nested_type.extend(nested)
    return msg


def _extension(name: str) -> descriptor_pb2.DescriptorProto:
    return _message(name, [], extensions_from=1)


def _file() -> descriptor_pb2.FileDescriptorProto:
    parameter = _message("Parameter", [
        ("name", 1, "string", False, None), ("type", 2, "uint32", False, None),
        *[(n, 3 + i, t, False, 0) for i, (n, t) in enumerate(_VALUES)],
        ("extension_value", 9, f"{_P}.Template.Parameter.ParameterValueExtension", False, 0),
    ], nested=[_extension("ParameterValueExtension")], oneof=True)
    template = _message("Template", [
        ("version", 1, "string", False, None), ("metrics", 2, f"{_P}.Metric", True, None),
        ("parameters", 3, f"{_P}.Template.Parameter", True, None), ("template_ref", 4, "string", False, None),
        ("is_definition", 5, "bool", False, None),
    ], extensions_from=6, nested=[parameter])
    dataset_value = _message("DataSetValue", [
        *[(n, 1 + i, t, False, 0) for i, (n, t) in enumerate(_VALUES)],
        ("extension_value", 7, f"{_P}.DataSet.DataSetValue.DataSetValueExtension", False, 0),
    ], nested=[_extension("DataSetValueExtension")], oneof=True)
    row = _message("Row", [("elements", 1, f"{_P}.DataSet.DataSetValue", True, None)], extensions_from=2)
    dataset = _message("DataSet", [
        ("num_of_columns", 1, "uint64", False, None), ("columns", 2, "string", True, None),
        ("types", 3, "uint32", True, None), ("rows", 4, f"{_P}.DataSet.Row", True, None),
    ], extensions_from=5, nested=[dataset_value, row])
    property_value = _message("PropertyValue", [
        ("type", 1, "uint32", False, None), ("is_null", 2, "bool", False, None),
        *[(n, 3 + i, t, False, 0) for i, (n, t) in enumerate(_VALUES)],
        ("propertyset_value", 9, f"{_P}.PropertySet", False, 0),
        ("propertysets_value", 10, f"{_P}.PropertySetList", False, 0),
        ("extension_value", 11, f"{_P}.PropertyValue.PropertyValueExtension", False, 0),
    ], nested=[_extension("PropertyValueExtension")], oneof=True)
    property_set = _message("PropertySet", [
        ("keys", 1, "string", True, None), ("values", 2, f"{_P}.PropertyValue", True, None)], extensions_from=3)
    property_set_list = _message("PropertySetList", [("propertyset", 1, f"{_P}.PropertySet", True, None)],
                                 extensions_from=2)
    metadata = _message("MetaData", [
        ("is_multi_part", 1, "bool", False, None), ("content_type", 2, "string", False, None),
        ("size", 3, "uint64", False, None), ("seq", 4, "uint64", False, None),
        ("file_name", 5, "string", False, None), ("file_type", 6, "string", False, None),
        ("md5", 7, "string", False, None), ("description", 8, "string", False, None),
    ], extensions_from=9)
    metric = _message("Metric", [
        ("name", 1, "string", False, None), ("alias", 2, "uint64", False, None),
        ("timestamp", 3, "uint64", False, None), ("datatype", 4, "uint32", False, None),
        ("is_historical", 5, "bool", False, None), ("is_transient", 6, "bool", False, None),
        ("is_null", 7, "bool", False, None), ("metadata", 8, f"{_P}.MetaData", False, None),
        ("properties", 9, f"{_P}.PropertySet", False, None),
        *[(n, 10 + i, t, False, 0) for i, (n, t) in enumerate(_VALUES)],
        ("bytes_value", 16, "bytes", False, 0), ("dataset_value", 17, f"{_P}.DataSet", False, 0),
        ("template_value", 18, f"{_P}.Template", False, 0),
        ("extension_value", 19, f"{_P}.Metric.MetricValueExtension", False, 0),
    ], nested=[_extension("MetricValueExtension")], oneof=True)
    payload = _message("Payload", [
        ("timestamp", 1, "uint64", False, None), ("metrics", 2, f"{_P}.Metric", True, None),
        ("seq", 3, "uint64", False, None), ("uuid", 4, "string", False, None), ("body", 5, "bytes", False, None),
    ], extensions_from=6, nested=[template, dataset, property_value, property_set, property_set_list, metadata,
                                  metric])
    fd = descriptor_pb2.FileDescriptorProto(name="safetwin/sparkplug_b.proto", package=PACKAGE, syntax="proto2")
    enum = fd.enum_type.add(name="DataType")
    for dt in DataType:
        enum.value.add(name=dt.name, number=dt.value)
    fd.message_type.append(payload)
    return fd


_POOL = descriptor_pool.DescriptorPool()
_POOL.Add(_file())
#: the Sparkplug B ``Payload`` message class (``Payload.FromString(bytes)``, ``p.SerializeToString()``)
Payload: Any = message_factory.GetMessageClass(_POOL.FindMessageTypeByName(f"{PACKAGE}.Payload"))

_SIGNED32 = {DataType.Int8, DataType.Int16, DataType.Int32}
_UNSIGNED32 = {DataType.UInt8, DataType.UInt16, DataType.UInt32}
_LONG = {DataType.Int64, DataType.UInt64, DataType.DateTime}
_BITS = {DataType.Int8: 8, DataType.Int16: 16, DataType.Int32: 32, DataType.UInt8: 8, DataType.UInt16: 16,
         DataType.UInt32: 32}


def metric_value(metric: Any, datatype: int | None = None) -> float | int | bool | str | None:
    """The value of ``metric`` as its data type says (``datatype``: the one declared in the birth
    when the metric itself carries none); None when ``is_null``. Raises ``ValueError`` when the
    value field does not match the type or a value lies outside its type's range."""
    dt = metric.datatype or datatype or 0
    if metric.is_null:
        return None
    field = metric.WhichOneof("value")
    try:
        kind = DataType(dt)
    except ValueError:
        raise ValueError(f"unknown datatype {dt}") from None
    if kind in _SIGNED32 or kind in _UNSIGNED32:
        if field != "int_value":
            raise ValueError(f"{kind.name} value in {field or 'no value field'}")
        raw = metric.int_value
        bits = _BITS[kind]
        if kind in _SIGNED32:
            v = raw - (1 << 32) if raw >= 1 << 31 else raw
            if not -(1 << (bits - 1)) <= v < 1 << (bits - 1):
                raise ValueError(f"{kind.name} value {v} out of range")
            return v
        if raw >= 1 << bits:
            raise ValueError(f"{kind.name} value {raw} out of range")
        return raw
    if kind in _LONG:
        if field != "long_value":
            raise ValueError(f"{kind.name} value in {field or 'no value field'}")
        raw = metric.long_value
        return raw - (1 << 64) if kind == DataType.Int64 and raw >= 1 << 63 else raw
    expected = {DataType.Float: "float_value", DataType.Double: "double_value", DataType.Boolean: "boolean_value",
                DataType.String: "string_value", DataType.Text: "string_value", DataType.UUID: "string_value"}
    name = expected.get(kind)
    if name is None:
        raise ValueError(f"{kind.name} values are not read by the twin")
    if field != name:
        raise ValueError(f"{kind.name} value in {field or 'no value field'}")
    return getattr(metric, name)


def set_metric_value(metric: Any, value: float | int | bool | str | None) -> None:
    """Store ``value`` in the field of ``metric.datatype`` (two's complement for negative
    integers); None sets ``is_null``."""
    if value is None:
        metric.is_null = True
        return
    kind = DataType(metric.datatype)
    if kind in _SIGNED32 or kind in _UNSIGNED32:
        metric.int_value = int(value) & 0xFFFFFFFF
    elif kind in _LONG:
        metric.long_value = int(value) & 0xFFFFFFFFFFFFFFFF
    elif kind == DataType.Float:
        metric.float_value = float(value)
    elif kind == DataType.Double:
        metric.double_value = float(value)
    elif kind == DataType.Boolean:
        metric.boolean_value = bool(value)
    elif kind in (DataType.String, DataType.Text, DataType.UUID):
        metric.string_value = str(value)
    else:
        raise ValueError(f"cannot write a {kind.name} value")
