"""Domain words and model messages on the 中文 pages: codes the records and models carry (permit
types and states, levels, shifts, substances, event kinds) and the sentences the models write
(plant-check findings, drill findings, consequence-model notes, alarm messages).

:func:`term` names one code in the page's language (the code itself in English, or when unknown);
:func:`message` renders a model's English sentence in Chinese by the catalog :data:`MESSAGES` of
sentence patterns (an unknown sentence stays as written, so nothing is lost).

Example::

    >>> term("permit_type", "hot_work", "zh"), term("permit_state", "active", "zh"), term("shift", "day", "en")
    ('动火作业', '作业中', 'day')
    >>> message("pool fills the bund: equivalent diameter 21.4 m", "zh")
    '池液充满围堰：当量直径 21.4 m'
    >>> counts({"active": 2, "closed": 5}, "permit_state", "zh")
    '作业中: 2, 已关闭: 5'
"""
from __future__ import annotations

import re
from collections.abc import Mapping

from safetwin.substances import chinese_name

__all__ = ["TERMS", "MESSAGES", "EVENT_NAMES", "term", "message", "counts", "substance", "number", "event_name",
           "detail_text"]

TERMS: dict[str, dict[str, str]] = {
    "permit_type": {"hot_work": "动火作业", "confined_space": "受限空间作业", "blind_plate": "盲板抽堵作业",
                    "work_at_height": "高处作业", "lifting": "吊装作业", "temp_power": "临时用电作业",
                    "excavation": "动土作业", "road_closure": "断路作业"},
    "permit_state": {"draft": "草稿", "submitted": "审批中", "approved": "已批准", "active": "作业中", "paused": "暂停",
                     "suspended": "已暂停", "completed": "已完工", "fire_watch": "火灾监护", "closed": "已关闭",
                     "cancelled": "已取消", "expired": "已过期"},
    "permit_level": {"special": "特级", "first": "一级", "second": "二级", "third": "三级", "none": "不分级",
                     "I": "Ⅰ级", "II": "Ⅱ级", "III": "Ⅲ级", "IV": "Ⅳ级"},
    "cert_status": {"valid": "有效", "expiring": "即将到期", "expired": "已过期", "revoked": "已吊销",
                    "suspended": "已暂停"},
    "hazard_state": {"reported": "已上报", "confirmed": "已确认", "plan_pending": "方案待批", "assigned": "已派发",
                     "rectifying": "整改中", "extension_pending": "延期待批", "pending_verification": "待验收",
                     "verified": "已验收", "closed": "已关闭", "invalid": "无效"},
    "alarm_level": {"FAULT": "故障", "WARNING": "预警", "HIGH": "高报", "HIGH_HIGH": "高高报", "HH": "高高报",
                    "H": "高报", "L": "低报", "LL": "低低报", "ROC": "变化率", "warning": "预警", "high": "高报",
                    "high_high": "高高报", "fault": "故障"},
    "shift": {"day": "白班", "night": "夜班"},
    "event": {"release": "气体泄漏", "jet_fire": "喷射火", "pool_fire": "池火", "fireball": "火球", "vce": "蒸气云爆炸",
              "flash_fire": "闪火", "bleve": "沸腾液体扩展蒸气爆炸"},
}


#: incident timeline event kinds: (English, Chinese)
EVENT_NAMES: dict[str, tuple[str, str]] = {
    "release_start": ("release starts", "泄漏开始"), "release_end": ("release ends", "泄漏结束"),
    "detection": ("detector alarm", "探测器报警"), "alarm": ("site alarm", "全厂报警"),
    "engine_dispatched": ("fire engine dispatched", "消防车调派"), "engine_departed": ("fire engine leaves", "消防车出发"),
    "engine_on_scene": ("fire engine on scene", "消防车到场"), "engine_in_action": ("fire engine in action", "消防车出水"),
    "ignition": ("ignition", "点火"), "fire_start": ("fire starts", "起火"), "fire_end": ("fire out", "火灾熄灭"),
    "escalation": ("escalation to a neighbour", "事故升级（多米诺）"), "explosion": ("explosion", "爆炸"),
    "wind_change": ("wind changes", "风向风速变化"), "isolation": ("isolated", "隔离"),
    "departure": ("leaves", "开始撤离"), "arrival": ("at a muster point", "到达集合点"),
    "incapacitated": ("incapacitated", "失能"),
}
#: timeline detail fields: (English, Chinese, unit)
DETAIL_KEYS: dict[str, tuple[str, str, str]] = {
    "equipment": ("equipment", "设备", ""), "substance": ("substance", "介质", ""),
    "rate_kg_s": ("rate", "速率", "kg/s"), "planned_end_s": ("planned end", "计划结束", "s"),
    "released_kg": ("released", "泄漏量", "kg"), "alarm_level": ("level", "级别", ""), "value": ("reading", "读数", ""),
    "previous_value": ("previous", "前值", ""), "level": ("alarm at", "报警值", ""), "unit": ("unit", "单位", ""),
    "sample_interval_s": ("sampled every", "采样间隔", "s"), "cause": ("cause", "原因", ""),
    "first_detector": ("first detector", "首个报警探测器", ""), "job": ("job", "任务", ""),
    "waited_s": ("waited", "等待", "s"), "staging_xy_m": ("staging at", "集结点", "m"), "route_m": ("route", "路线", "m"),
    "along_roads": ("along roads", "沿道路", ""), "muster_point": ("muster point", "集合点", ""),
    "premovement_s": ("pre-movement", "反应时间", "s"),
}
_UNIT_SUFFIXES = (("_kg_s", "kg/s"), ("_mg_m3", "mg/m³"), ("_kw_m2", "kW/m²"), ("_kpa", "kPa"), ("_ppm", "ppm"),
                  ("_deg", "°"), ("_kg", "kg"), ("_m", "m"), ("_s", "s"))


def number(value: float) -> str:
    """A figure as people read it: 3 significant digits below 100, whole numbers (grouped) above.

    >>> number(0.04999999999999998), number(982.4000000001548), number(1250.0), number(12.0)
    ('0.05', '982', '1,250', '12')
    """
    v = float(value)
    if v != v:
        return "—"
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


def event_name(kind: str, lang: str) -> str:
    """An incident event kind in words (``release_start`` → ``release starts`` / ``泄漏开始``)."""
    pair = EVENT_NAMES.get(kind)
    return (pair[1] if lang == "zh" else pair[0]) if pair else kind.replace("_", " ")


def detail_text(detail: Mapping[str, object], lang: str) -> str:
    """A timeline event's details in words with rounded figures and units.

    >>> detail_text({"equipment": "V-1102", "substance": "hydrogen sulfide", "rate_kg_s": 0.04999999999999998}, "en")
    'equipment V-1102, substance hydrogen sulfide, rate 0.05 kg/s'
    >>> detail_text({"route_m": 787.0, "along_roads": True}, "zh")
    '路线 787 m，沿道路 是'
    """
    unit_of_reading = str(detail.get("unit", "")) if "value" in detail else ""
    parts = []
    for key, value in detail.items():
        if key == "unit" and unit_of_reading:
            continue
        en, zh, unit = DETAIL_KEYS.get(key, ("", "", ""))
        if not en:      # an unknown field: its name without the unit suffix, the unit from the suffix
            suffix, unit = next(((sx, u) for sx, u in _UNIT_SUFFIXES if key.endswith(sx)), ("", ""))
            en = zh = (key[: -len(suffix)] if suffix else key).replace("_", " ")
        if key in ("value", "previous_value", "level") and unit_of_reading:
            unit = unit_of_reading
        if isinstance(value, bool):
            shown = ("是" if value else "否") if lang == "zh" else ("yes" if value else "no")
        elif isinstance(value, (int, float)):
            shown = number(value)
        elif isinstance(value, (list, tuple)):
            shown = "(" + ", ".join(number(v) if isinstance(v, (int, float)) else str(v) for v in value) + ")"
        elif key == "substance":
            shown = substance(str(value), lang)
        elif key == "alarm_level":
            shown = term("alarm_level", str(value), lang)
        else:
            shown = str(value)
        parts.append(f"{zh if lang == 'zh' else en} {shown}{' ' + unit if unit else ''}")
    return ("，" if lang == "zh" else ", ").join(parts)


def term(kind: str, code: str | None, lang: str) -> str:
    """The name of ``code`` (of ``kind``: a key of :data:`TERMS`) in ``lang``; the code when unknown."""
    if code is None:
        return "—"
    if lang != "zh":
        return str(code)
    return TERMS.get(kind, {}).get(str(code), str(code))


def substance(name: str, lang: str) -> str:
    """A substance's name on the page (Chinese name on 中文 pages, the name with spaces otherwise)."""
    return chinese_name(name) if lang == "zh" else str(name).replace("_", " ")


def counts(by_code: Mapping[str, int], kind: str, lang: str) -> str:
    """``code: n`` pairs with the codes named (``type/level`` keys name both parts); ``—`` when empty."""
    def name(code: str) -> str:
        if "/" in code and kind == "permit_type":
            ptype, level = code.split("/", 1)
            return f"{term('permit_type', ptype, lang)}/{term('permit_level', level, lang)}"
        return term(kind, code, lang)

    return ", ".join(f"{name(c)}: {n}" for c, n in by_code.items()) or "—"


_NUM = r"-?[\d.]+(?:e[-+]?\d+)?"
#: (English sentence pattern, Chinese template) — the models' messages, most specific first
MESSAGES: list[tuple[re.Pattern[str], str]] = [(re.compile(p), zh) for p, zh in [
    # plant check (emergency_planner.plant_check)
    (rf"^(?P<eq>\S+) \((?P<sub>[^)]+)\): no detector within its gas's reach; the nearest detector that responds, "
     rf"(?P<d>\S+), is (?P<m>{_NUM}) m away and reaches (?P<r>{_NUM}) m$",
     "{eq}（{sub:substance}）：其气体可达范围内没有探测器；最近的可响应探测器 {d} 相距 {m} m，探测范围 {r} m"),
    (r"^(?P<eq>\S+) \((?P<sub>[^)]+)\): no detector within its gas's reach; no detector on site responds to it$",
     "{eq}（{sub:substance}）：其气体可达范围内没有探测器；厂内没有能响应该气体的探测器"),
    (r"^muster point (?P<m>\S+) lies wholly on buildings or solid equipment: nobody can stand there$",
     "集合点 {m} 完全落在建筑或设备上：无法站人"),
    (r"^muster point (?P<m>\S+) cannot be reached on foot from any work area .*$",
     "集合点 {m} 无法从任何作业区域步行到达（被建筑、设备或围栏封闭）"),
    (r"^area (?P<a>\S+) has no exit: no walkable path leads to a muster point \((?P<n>\d+) people on its largest shift\)$",
     "区域 {a} 没有出口：没有可步行路径通往集合点（最大班次 {n} 人）"),
    (rf"^(?P<s>{_NUM}) m² of area (?P<a>\S+) are cut off from every muster point$",
     "区域 {a} 有 {s} m² 无法到达任何集合点"),
    (r"^(?P<eq>\S+) holds '(?P<sub>[^']+)', which the substance table does not know: .*$",
     "{eq} 储存的 “{sub}” 不在物质表中：无法判断其探测器覆盖"),
    # drill findings (emergency_planner.drill): the indicator's Chinese name, then the figure
    (r"^(?P<p>\S+) not accounted for: never reached a muster point; last seen at \((?P<x>-?\d+), (?P<y>-?\d+)\) m "
     r"at (?P<t>\d+) s \(started in (?P<a>\S+)\)$",
     "{p} 未清点：始终未到达集合点；最后位置 ({x}, {y}) m，第 {t} 秒（起始区域 {a}）"),
    (r"^head count reported (?P<n>\d+) present at (?P<t>\d+) s, but (?P<m>\d+) reached a muster point .*$",
     "第 {t} 秒报告清点 {n} 人，但有 {m} 人到达集合点"),
    (r"^(?P<zh>[^/]*[\u4e00-\u9fff][^/]*) / [^:]+: never \(not completed\) \(score (?P<s>\d+)/5\)$",
     "{zh}：未完成（得分 {s}/5）"),
    (r"^(?P<zh>[^/]*[\u4e00-\u9fff][^/]*) / [^:]+: (?P<v>[\d.]+ ?(?:s|%|min)?) \(score (?P<s>\d+)/5\)$",
     "{zh}：{v}（得分 {s}/5）"),
    # consequence-model notes (emergency_planner.physics, plant_consequence)
    (rf"^pool fills the bund: equivalent diameter (?P<d>{_NUM}) m$", "池液充满围堰：当量直径 {d} m"),
    (rf"^unbunded pool spread to (?P<h>{_NUM}) mm: diameter (?P<d>{_NUM}) m$", "无围堰液池铺展至 {h} mm 厚：直径 {d} m"),
    (rf"^finite release: (?P<q>{_NUM}) kg/s for (?P<t>{_NUM}) s \(equivalent\), averaged over (?P<a>{_NUM}) s$",
     "有限时长泄漏：{q} kg/s，持续 {t} s（当量），按 {a} s 平均"),
    (rf"^model: (?P<m>dense|gaussian) \((?:dense|passive): Ri = (?P<ri>{_NUM}) \(threshold (?P<th>{_NUM})\), cloud "
     rf"(?P<c>{_NUM}) kg/m³ \((?P<d>\d+)% droplets\) vs air (?P<air>{_NUM})\)$",
     "模型：{m:model}（Ri = {ri}，阈值 {th}；云团密度 {c} kg/m³（液滴 {d}%），空气 {air} kg/m³）"),
    (rf"^flashing discharge (?P<q>{_NUM}) kg/s \(flow path (?P<l>{_NUM}) m\), flash fraction (?P<f>{_NUM}), airborne "
     rf"(?P<a>{_NUM}) \((?P<d>\d+)% of it droplets; rain-out model (?P<m>\w+)\), (?P<r>{_NUM}) rains out into a pool$",
     "闪蒸泄放 {q} kg/s（流道 {l} m），闪蒸分数 {f}，进入大气份额 {a}（其中液滴 {d}%；雨析模型 {m:rainout}），雨析成池份额 {r}"),
    (rf"^discharge lasts (?P<t>{_NUM}) s$", "泄放持续 {t} s"),
    (r"^no AEGL: ERPG used$", "无 AEGL：采用 ERPG"),
    (rf"^dense cloud diluted \(Ri\* < (?P<r>{_NUM})\) at (?P<x>{_NUM}) m: passive Gaussian beyond$",
     "重气云在 {x} m 处稀释（Ri* < {r}）：此后按被动高斯模型"),
    (rf"^(?P<lv>[A-Z]+) zone \((?P<l>.*)\) reaches the edge of the (?P<g>{_NUM}) km grid: .*$",
     "{lv:level}区（{l}）到达 {g} km 计算网格边缘：实际范围更大"),
    # alarm messages (twin.alarms.rules)
    (r"^sensor fault: no value$", "传感器故障：无读数"),
    (r"^sensor fault: out of range$", "传感器故障：超出量程"),
    (r"^sensor fault: stuck$", "传感器故障：读数卡滞"),
    (r"^sensor fault: (?P<q>\w+)$", "传感器故障：{q}"),
    (rf"^rate of change (?P<r>{_NUM})/s$", "变化率 {r}/s"),
    (r"^reading above the alarm level$", "读数超过报警值"),
]]


#: codes inside the models' sentences, by format name (``{field:level}`` in a template)
_NAMED: dict[str, dict[str, str]] = {
    "model": {"dense": "重气", "gaussian": "高斯"},
    "level": {"RED": "红", "ORANGE": "橙", "YELLOW": "黄", "BLUE": "蓝"},
    "rainout": {"flash_atomisation": "闪蒸雾化", "none": "无"},
}


def message(text: str, lang: str) -> str:
    """A model's English sentence in ``lang`` (see :data:`MESSAGES`); unchanged in English or when
    no pattern matches. A ``{name:substance}`` field is rendered as the substance's Chinese name."""
    if lang != "zh" or not text:
        return text
    for pattern, zh in MESSAGES:
        m = pattern.match(text.strip())
        if m is None:
            continue
        fields = m.groupdict()
        out = zh
        for key, value in fields.items():
            out = out.replace("{" + key + ":substance}", chinese_name(value or ""))
            for fmt, names in _NAMED.items():
                out = out.replace("{" + key + ":" + fmt + "}", names.get(value or "", value or ""))
        return out.format(**fields)
    return text
