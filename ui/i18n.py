"""English and Simplified Chinese labels of the SafeTwin web UI.

Every visible label goes through :func:`tr`, so a page switches language by being rendered with
another ``lang`` (the pages read it from the ``?lang=`` query argument).

Example::

    >>> tr("alarms", "zh")
    '活动报警'
    >>> tr("alarms", "en")
    'Active alarms'
"""
from __future__ import annotations

LANGS = ("en", "zh")
DEFAULT_LANG = "en"

_LABELS: dict[str, tuple[str, str]] = {
    # navigation and chrome
    "app": ("SafeTwin", "SafeTwin 安全数字孪生"),
    "control_room": ("Control room", "中控室"),
    "engineer": ("Risk engineer", "风险工程师"),
    "manager": ("Manager cockpit", "管理驾驶舱"),
    "login": ("Sign in", "登录"),
    "logout": ("Sign out", "退出"),
    "user": ("User", "用户"),
    "password": ("Password", "密码"),
    "or_token": ("or an API token", "或 API 令牌"),
    "signed_in_as": ("Signed in as", "当前用户"),
    "language": ("Language", "语言"),
    # control room
    "plant_3d": ("Plant (3D, live)", "厂区三维实时视图"),
    "clock": ("Twin time", "孪生时间"),
    "update_ms": ("server update [ms]", "服务器更新 [ms]"),
    "alarms": ("Active alarms", "活动报警"),
    "acknowledge": ("Acknowledge selected", "确认所选报警"),
    "no_alarms": ("No active alarms", "无活动报警"),
    "ack_needs_role": ("Acknowledging needs the operator role", "确认报警需要操作员角色"),
    "acknowledged_n": ("Acknowledged {n} alarm(s)", "已确认 {n} 条报警"),
    "alarm_id": ("Alarm", "报警"),
    "source": ("Source", "来源"),
    "level": ("Level", "级别"),
    "time_utc": ("Time (UTC)", "时间 (UTC)"),
    "acked": ("Ack", "已确认"),
    "message": ("Message", "信息"),
    "people_by_area": ("People by area", "各区域人员"),
    "area": ("Area", "区域"),
    "people": ("People", "人数"),
    "expected": ("Expected (shift)", "应到 (班次)"),
    "in_danger": ("In danger", "危险中"),
    "muster": ("Muster head-count", "集合点清点"),
    "muster_point": ("Muster point", "集合点"),
    "mustered": ("Mustered", "已集合"),
    "pob": ("People on board", "在厂人数"),
    "unaccounted": ("Unaccounted", "未清点"),
    "permits": ("Active permits", "有效作业票"),
    "permit": ("Permit", "作业票"),
    "type": ("Type", "类型"),
    "state": ("State", "状态"),
    "suspended": ("SUSPENDED", "已暂停"),
    "no_permits": ("No active or suspended permits", "无有效或暂停的作业票"),
    "no_workflows": ("Workflow service not connected", "未连接工作流服务"),
    "legend": ("Legend", "图例"),
    "detector": ("Gas detector", "气体探测器"),
    "det_normal": ("normal (< warning)", "正常 (低于预警)"),
    "det_warning": ("warning", "预警"),
    "det_high": ("high alarm", "高报"),
    "det_highhigh": ("high-high alarm", "高高报"),
    "det_fault": ("fault / stale / no data", "故障 / 过期 / 无数据"),
    "person": ("Person", "人员"),
    "p_working": ("working", "作业中"),
    "p_evacuating": ("evacuating", "疏散中"),
    "p_mustered": ("mustered", "已集合"),
    "p_danger": ("in danger", "危险中"),
    "zone_red": ("RED zone", "红区"),
    "zone_orange": ("ORANGE zone", "橙区"),
    "zone_yellow": ("YELLOW zone", "黄区"),
    "route": ("recommended route", "推荐路线"),
    "incident": ("Incident", "事故"),
    "no_incident": ("No consequence result loaded", "无后果计算结果"),
    # engineer
    "risk_map": ("Four-colour risk map", "四色风险分布图"),
    "layers": ("Layers", "图层"),
    "layer_plant": ("Plant plan", "厂区平面"),
    "layer_register": ("Risk register units", "风险分级单元"),
    "layer_consequence": ("Consequence zones", "后果影响区"),
    "layer_qra": ("Individual risk contours", "个人风险等值线"),
    "qra_legend": ("Individual risk contours (QRA)", "个人风险等值线（QRA）"),
    "qra_compute": ("Risk contours (coarse QRA)", "计算风险等值线（粗网格 QRA）"),
    "qra_none": ("No QRA result loaded", "未加载 QRA 结果"),
    "qra_loaded": ("QRA contours: {src}", "QRA 等值线：{src}"),
    "equipment": ("Equipment", "设备"),
    "wind_speed": ("Wind speed [m/s]", "风速 [m/s]"),
    "wind_from": ("Wind from [° from N]", "风向 (来向) [°]"),
    "stability": ("Pasquill stability", "大气稳定度"),
    "compute": ("Compute consequence zones", "计算后果影响区"),
    "computing": ("Computing…", "计算中…"),
    "download_geojson": ("Download GeoJSON (WGS84)", "下载 GeoJSON (WGS84)"),
    "zone_details": ("Zone details", "区域详情"),
    "click_zone": ("Click a zone on the map for its details.", "点击地图上的区域查看详情。"),
    "easting": ("x east [m, plant frame]", "x 东 [m, 厂区坐标]"),
    "northing": ("y north [m, plant frame]", "y 北 [m, 厂区坐标]"),
    "risk_RED": ("RED — major", "红 — 重大风险"),
    "risk_ORANGE": ("ORANGE — high", "橙 — 较大风险"),
    "risk_YELLOW": ("YELLOW — moderate", "黄 — 一般风险"),
    "risk_BLUE": ("BLUE — low", "蓝 — 低风险"),
    "no_register": ("No risk-register units (workflow service absent or empty)", "无风险分级单元 (未连接工作流服务或为空)"),
    "building": ("Building", "建筑"),
    "road": ("Road", "道路"),
    "fence": ("Fence", "围栏"),
    "crs_note": ("Plant frame in metres; CRS {crs}, origin E {e:.0f} N {n:.0f}",
                 "厂区坐标 (米)；坐标系 {crs}，原点 E {e:.0f} N {n:.0f}"),
    "notes": ("Notes", "说明"),
    "area_m2": ("Area [m²]", "面积 [m²]"),
    "threshold": ("Threshold", "阈值"),
    # manager
    "period": ("Period", "统计周期"),
    "from": ("From", "起"),
    "to": ("To", "止"),
    "refresh": ("Refresh", "刷新"),
    "download_html": ("Download report (HTML)", "下载报告 (HTML)"),
    "download_pdf": ("Download report (PDF)", "下载报告 (PDF)"),
    "kpi_hazards": ("Hazards", "隐患"),
    "kpi_permits": ("Permits to work", "特殊作业票"),
    "kpi_certs": ("Certificates", "资格证书"),
    "kpi_alarms": ("Alarm cases", "报警处置"),
    "hz_found": ("found", "发现"),
    "hz_closed": ("closed", "已关闭"),
    "rectification_rate": ("rectification rate", "整改率"),
    "on_time_rate": ("on-time rate", "按期整改率"),
    "overdue_rate": ("overdue rate", "逾期率"),
    "mean_time_to_close_h": ("mean time to close [h]", "平均整改时长 [h]"),
    "open_major": ("open major hazards", "未关闭重大隐患"),
    "compliance_rate": ("compliance rate", "合规率"),
    "gas_test_timeliness": ("gas tests on time", "气体检测及时率"),
    "auto_suspensions": ("automatic suspensions", "自动暂停次数"),
    "by_state": ("by state", "按状态"),
    "by_type_level": ("by type / level", "按类型 / 级别"),
    "holders": ("holders", "持证人数"),
    "cases": ("cases", "处置单"),
    "open": ("open", "未关闭"),
    "trend": ("Trend (weekly)", "趋势 (按周)"),
    "count": ("count", "数量"),
    "week": ("week starting", "周起始"),
    "n_a": ("n/a", "无数据"),
    "report_title": ("Safety KPI report", "安全绩效报告"),
    "generated": ("Generated", "生成时间"),
    "site": ("Site", "厂区"),
    "drills": ("Drills", "应急演练"),
}


def tr(key: str, lang: str = DEFAULT_LANG, **fmt: object) -> str:
    """The label ``key`` in ``lang`` (``en`` or ``zh``), formatted with ``fmt``.

    Unknown keys return the key itself, so a missing label shows up on the page instead of
    raising inside a live session.
    """
    pair = _LABELS.get(key)
    if pair is None:
        return key
    text = pair[1] if lang == "zh" else pair[0]
    return text.format(**fmt) if fmt else text


def normalise_lang(value: str | bytes | None) -> str:
    """``en`` or ``zh`` from a query value such as ``b"zh-CN"``; English otherwise."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return "zh" if value and value.lower().startswith("zh") else DEFAULT_LANG
