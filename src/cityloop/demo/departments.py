"""The demo county's units: 30 class-1 county departments (县直部门) and the 12 towns (乡镇) as class-2 units,
and which department owns which kind of problem (the demo's routing rules)."""

from __future__ import annotations

# (code, name, English name)
CLASS1 = [
    ("cgj", "县城市管理行政执法局", "County Urban Management and Law Enforcement Bureau"),
    ("zjj", "县住房和城乡建设局", "County Housing and Urban-Rural Development Bureau"),
    ("jtj", "县交通运输局", "County Transport Bureau"),
    ("jjdd", "县公安局交通管理大队", "County Traffic Police Brigade"),
    ("gaj", "县公安局", "County Public Security Bureau"),
    ("zrj", "县自然资源和规划局", "County Natural Resources and Planning Bureau"),
    ("sthj", "市生态环境局来安分局", "Lai'an Branch, Ecology and Environment Bureau"),
    ("scj", "县市场监督管理局", "County Market Regulation Bureau"),
    ("slj", "县水利局", "County Water Resources Bureau"),
    ("nyj", "县农业农村局", "County Agriculture and Rural Affairs Bureau"),
    ("wlj", "县文化旅游体育局", "County Culture, Tourism and Sports Bureau"),
    ("jyj", "县教育局", "County Education Bureau"),
    ("wjw", "县卫生健康委员会", "County Health Commission"),
    ("mzj", "县民政局", "County Civil Affairs Bureau"),
    ("yjj", "县应急管理局", "County Emergency Management Bureau"),
    ("swj", "县商务局", "County Commerce Bureau"),
    ("sjj", "县数据资源管理局", "County Data Resources Bureau"),
    ("lyj", "县林业局", "County Forestry Bureau"),
    ("ylc", "县园林绿化管理处", "County Landscaping Office"),
    ("hwc", "县环境卫生管理处", "County Sanitation Office"),
    ("szc", "县市政设施管理处", "County Municipal Facilities Office"),
    ("gdgs", "国网来安县供电公司", "State Grid Lai'an Power Supply Company"),
    ("zls", "来安县自来水公司", "Lai'an Water Supply Company"),
    ("rqgs", "来安县燃气公司", "Lai'an Gas Company"),
    ("dx", "中国电信来安分公司", "China Telecom Lai'an"),
    ("yd", "中国移动来安分公司", "China Mobile Lai'an"),
    ("lt", "中国联通来安分公司", "China Unicom Lai'an"),
    ("gd", "来安县广电网络公司", "Lai'an Cable Network Company"),
    ("kfq", "来安经济开发区管委会", "Lai'an Economic Development Zone Committee"),
    ("xf", "县消防救援大队", "County Fire and Rescue Brigade"),
]

# Matter name keywords → department, checked in order; then the major class default.
KEYWORD_OWNERS = [
    ("供水", "zls"), ("中水", "zls"), ("消火栓", "xf"), ("消防", "xf"), ("燃气", "rqgs"), ("天然气", "rqgs"),
    ("电力", "gdgs"), ("电缆", "gdgs"), ("变压器", "gdgs"), ("通信", "dx"), ("通讯", "dx"), ("电视", "gd"),
    ("网络", "lt"), ("公安", "gaj"), ("监控", "gaj"), ("信号灯", "jjdd"), ("停放", "jjdd"), ("交通标志", "jjdd"),
    ("公交", "jtj"), ("路灯", "szc"), ("井盖", "szc"), ("箅子", "szc"), ("道路", "szc"), ("桥", "szc"),
    ("垃圾", "hwc"), ("公厕", "hwc"), ("厕所", "hwc"), ("果皮箱", "hwc"), ("保洁", "hwc"), ("不洁", "hwc"),
    ("绿地", "ylc"), ("树", "ylc"), ("花", "ylc"), ("草", "ylc"), ("河", "slj"), ("水域", "slj"),
    ("油烟", "sthj"), ("噪声", "sthj"), ("焚烧", "sthj"), ("广告", "cgj"), ("施工", "zjj"), ("渣土", "cgj"),
]
MAJOR_OWNERS = {"01": "szc", "02": "jtj", "03": "hwc", "04": "ylc", "05": "zjj", "06": "cgj", "07": "cgj",
                "08": "zjj", "09": "cgj", "10": "szc"}


def owner_of(major_code: str, name: str) -> str:
    """The demo's responsible department for a matter."""
    for keyword, code in KEYWORD_OWNERS:
        if keyword in name:
            return code
    return MAJOR_OWNERS.get(major_code, "cgj")
