"""The demo network's lines, as data: names, order, running times and character.

Station names of the Beijing, Tianjin and Shijiazhuang lines and of the Beijing-
Zhangjiakou intercity railway are real; running times, roles and everything measured
at them are made up. Each station is (name_zh, name_en, minutes to the next station,
role), where the role shapes its day: ``res`` residential (boards in the morning),
``biz`` business (boards in the evening), ``mix``, ``hub`` (railway stations,
interchanges) and ``tour`` (sights: busy on weekends and holidays).
"""

from __future__ import annotations

from dataclasses import dataclass

Station = tuple[str, str, int, str]


@dataclass(frozen=True, slots=True)
class LineSpec:
    """One line of the demo network."""

    line_id: str  # short, readable, unique: the prefix of its sites' ids
    mode: str  # metro, bus or rail
    city_code: str
    name_zh: str
    name_en: str
    waypoints: tuple[tuple[float, float], ...]  # (lat, lon) the stations are spread along
    stations: tuple[Station, ...]
    vehicle_capacity: int  # passengers per train (or bus) at 6 standing per square metre
    peak_headway_min: float
    loop: bool = False


# fmt: off
BEIJING_1 = LineSpec(
    "bj-m1", "metro", "110000", "北京地铁1号线", "Beijing Subway Line 1",
    ((39.926, 116.177), (39.907, 116.320), (39.908, 116.460), (39.908, 116.515)),
    (
        ("苹果园", "Pingguoyuan", 3, "res"), ("古城", "Gucheng", 2, "res"),
        ("八角游乐园", "Bajiao Amusement Park", 2, "res"), ("八宝山", "Babaoshan", 2, "res"),
        ("玉泉路", "Yuquanlu", 2, "res"), ("五棵松", "Wukesong", 2, "mix"),
        ("万寿路", "Wanshoulu", 2, "mix"), ("公主坟", "Gongzhufen", 2, "hub"),
        ("军事博物馆", "Military Museum", 2, "tour"), ("木樨地", "Muxidi", 2, "mix"),
        ("南礼士路", "Nanlishilu", 2, "biz"), ("复兴门", "Fuxingmen", 2, "hub"),
        ("西单", "Xidan", 2, "biz"), ("天安门西", "Tian'anmen West", 2, "tour"),
        ("天安门东", "Tian'anmen East", 2, "tour"), ("王府井", "Wangfujing", 2, "tour"),
        ("东单", "Dongdan", 2, "hub"), ("建国门", "Jianguomen", 2, "hub"),
        ("永安里", "Yong'anli", 2, "biz"), ("国贸", "Guomao", 2, "biz"),
        ("大望路", "Dawanglu", 3, "biz"), ("四惠", "Sihui", 2, "hub"),
        ("四惠东", "Sihui East", 0, "res"),
    ),
    1460, 2.0,
)

BEIJING_2 = LineSpec(
    "bj-m2", "metro", "110000", "北京地铁2号线", "Beijing Subway Line 2",
    ((39.940, 116.355), (39.907, 116.356), (39.899, 116.398), (39.907, 116.435),
     (39.949, 116.434), (39.949, 116.372), (39.940, 116.355)),
    (
        ("西直门", "Xizhimen", 2, "hub"), ("车公庄", "Chegongzhuang", 2, "biz"),
        ("阜成门", "Fuchengmen", 2, "biz"), ("复兴门", "Fuxingmen", 2, "hub"),
        ("长椿街", "Changchunjie", 2, "mix"), ("宣武门", "Xuanwumen", 2, "hub"),
        ("和平门", "Hepingmen", 2, "mix"), ("前门", "Qianmen", 2, "tour"),
        ("崇文门", "Chongwenmen", 2, "hub"), ("北京站", "Beijing Railway Station", 2, "hub"),
        ("建国门", "Jianguomen", 2, "hub"), ("朝阳门", "Chaoyangmen", 2, "biz"),
        ("东四十条", "Dongsishitiao", 2, "biz"), ("东直门", "Dongzhimen", 2, "hub"),
        ("雍和宫", "Yonghegong Lama Temple", 2, "tour"), ("安定门", "Andingmen", 2, "mix"),
        ("鼓楼大街", "Guloudajie", 2, "tour"), ("积水潭", "Jishuitan", 2, "mix"),
    ),
    1460, 2.0, loop=True,
)

BEIJING_4 = LineSpec(
    "bj-m4", "metro", "110000", "北京地铁4号线", "Beijing Subway Line 4",
    ((40.012, 116.270), (39.983, 116.316), (39.940, 116.353), (39.899, 116.367),
     (39.866, 116.373), (39.845, 116.370)),
    (
        ("安河桥北", "Anheqiao North", 3, "res"), ("北宫门", "Beigongmen", 2, "tour"),
        ("西苑", "Xiyuan", 3, "res"), ("圆明园", "Yuanmingyuan Park", 2, "tour"),
        ("北京大学东门", "East Gate of Peking University", 2, "mix"),
        ("中关村", "Zhongguancun", 2, "biz"), ("海淀黄庄", "Haidian Huangzhuang", 2, "biz"),
        ("人民大学", "Renmin University", 2, "mix"), ("魏公村", "Weigongcun", 2, "res"),
        ("国家图书馆", "National Library", 2, "mix"), ("动物园", "Beijing Zoo", 2, "tour"),
        ("西直门", "Xizhimen", 2, "hub"), ("新街口", "Xinjiekou", 2, "mix"),
        ("平安里", "Ping'anli", 2, "biz"), ("西四", "Xisi", 2, "biz"),
        ("灵境胡同", "Lingjing Hutong", 2, "biz"), ("西单", "Xidan", 2, "biz"),
        ("宣武门", "Xuanwumen", 2, "hub"), ("菜市口", "Caishikou", 2, "mix"),
        ("陶然亭", "Taoranting", 2, "res"),
        ("北京南站", "Beijing South Railway Station", 2, "hub"),
        ("马家堡", "Majiabao", 2, "res"), ("角门西", "Jiaomen West", 0, "res"),
    ),
    1460, 2.0,
)

TIANJIN_1 = LineSpec(
    "tj-m1", "metro", "120000", "天津地铁1号线", "Tianjin Metro Line 1",
    ((39.215, 117.150), (39.162, 117.158), (39.136, 117.180), (39.115, 117.215),
     (39.060, 117.258), (39.020, 117.280)),
    (
        ("刘园", "Liuyuan", 2, "res"), ("西横堤", "Xihengdi", 2, "res"),
        ("果酒厂", "Guojiuchang", 2, "res"), ("本溪路", "Benxi Road", 2, "res"),
        ("勤俭道", "Qinjian Road", 2, "res"), ("洪湖里", "Honghuli", 2, "res"),
        ("西站", "Tianjin West Railway Station", 2, "hub"), ("西北角", "Xibeijiao", 2, "mix"),
        ("西南角", "Xinanjiao", 2, "mix"), ("二纬路", "Erwei Road", 2, "mix"),
        ("海光寺", "Haiguangsi", 2, "biz"), ("鞍山道", "Anshan Road", 2, "biz"),
        ("营口道", "Yingkou Road", 2, "hub"), ("小白楼", "Xiaobailou", 2, "biz"),
        ("下瓦房", "Xiawafang", 2, "mix"), ("南楼", "Nanlou", 2, "mix"),
        ("土城", "Tucheng", 2, "res"), ("陈塘庄", "Chentangzhuang", 2, "res"),
        ("复兴门", "Fuxingmen", 2, "res"), ("华山里", "Huashanli", 2, "res"),
        ("财经大学", "University of Finance and Economics", 3, "mix"),
        ("双林", "Shuanglin", 0, "res"),
    ),
    1460, 4.0,
)

TIANJIN_3 = LineSpec(
    "tj-m3", "metro", "120000", "天津地铁3号线", "Tianjin Metro Line 3",
    ((39.060, 117.060), (39.085, 117.150), (39.118, 117.195), (39.135, 117.210),
     (39.170, 117.215), (39.185, 117.250)),
    (
        ("南站", "Tianjin South Railway Station", 4, "hub"),
        ("杨伍庄", "Yangwuzhuang", 3, "res"), ("学府工业区", "Xuefu Industrial Park", 3, "biz"),
        ("高新区", "High-tech Zone", 2, "biz"), ("大学城", "University Town", 3, "mix"),
        ("华苑", "Huayuan", 2, "res"), ("王顶堤", "Wangdingdi", 2, "res"),
        ("红旗南路", "Hongqi South Road", 2, "res"),
        ("周邓纪念馆", "Zhou Enlai & Deng Yingchao Memorial", 2, "tour"),
        ("天塔", "Tianta", 2, "tour"), ("吴家窑", "Wujiayao", 2, "mix"),
        ("西康路", "Xikang Road", 2, "biz"), ("营口道", "Yingkou Road", 2, "hub"),
        ("和平路", "Heping Road", 2, "biz"), ("津湾广场", "Jinwan Plaza", 2, "tour"),
        ("天津站", "Tianjin Railway Station", 2, "hub"), ("金狮桥", "Jinshiqiao", 2, "mix"),
        ("中山路", "Zhongshan Road", 2, "mix"),
        ("北站", "Tianjin North Railway Station", 2, "hub"),
        ("铁东路", "Tiedong Road", 2, "res"), ("张兴庄", "Zhangxingzhuang", 0, "res"),
    ),
    1460, 5.0,
)

SHIJIAZHUANG_1 = LineSpec(
    "sjz-m1", "metro", "130100", "石家庄地铁1号线", "Shijiazhuang Metro Line 1",
    ((38.045, 114.400), (38.045, 114.480), (38.043, 114.520), (38.040, 114.580),
     (38.060, 114.640)),
    (
        ("西王", "Xiwang", 2, "res"), ("时光街", "Shiguang Street", 2, "res"),
        ("长城桥", "Changchengqiao", 2, "res"), ("和平医院", "Heping Hospital", 2, "mix"),
        ("烈士陵园", "Martyrs' Cemetery", 2, "tour"), ("新百广场", "Xinbai Plaza", 2, "biz"),
        ("解放广场", "Jiefang Plaza", 2, "biz"), ("平安大街", "Ping'an Street", 2, "biz"),
        ("北国商城", "Beiguo Mall", 2, "biz"), ("博物院", "Hebei Museum", 2, "tour"),
        ("体育场", "Stadium", 2, "mix"), ("北宋", "Beisong", 2, "res"),
        ("谈固", "Tangu", 2, "res"), ("朝晖桥", "Zhaohuiqiao", 2, "res"),
        ("白佛", "Baifo", 3, "res"), ("石家庄东", "Shijiazhuang East Railway Station", 0, "hub"),
    ),
    1460, 6.0,
)

# Fastest scheduled run Beijing North - Zhangjiakou: 47 minutes (as from 2020).
BEIJING_ZHANGJIAKOU = LineSpec(
    "bjzjk-r", "rail", "110000", "京张城际铁路", "Beijing-Zhangjiakou Intercity Railway",
    ((39.944, 116.353), (40.042, 116.327), (40.226, 116.235), (40.360, 116.010),
     (40.380, 115.830), (40.410, 115.520), (40.500, 115.270), (40.620, 115.060),
     (40.800, 114.890)),
    (
        ("北京北", "Beijing North", 8, "hub"), ("清河", "Qinghe", 7, "hub"),
        ("昌平", "Changping", 8, "res"), ("八达岭长城", "Badaling Great Wall", 5, "tour"),
        ("东花园北", "Donghuayuan North", 5, "res"), ("怀来", "Huailai", 6, "res"),
        ("下花园北", "Xiahuayuan North", 4, "res"), ("宣化北", "Xuanhua North", 4, "mix"),
        ("张家口", "Zhangjiakou", 0, "hub"),
    ),
    578, 15.0,
)
# fmt: on
# Stations from Donghuayuan North on lie in Zhangjiakou prefecture.
RAIL_CITY_FROM = {4: "130700"}
# Interchanges between stations of different names: (city, station, station, walk
# minutes). Beijing North Railway Station opens onto Xizhimen's metro station (lines 2
# and 4 here), a walk of about five minutes through the shared concourse.
INTERCHANGES: tuple[tuple[str, str, str, float], ...] = (
    ("110000", "Beijing North", "Xizhimen", 5.0),
)

METRO_LINES = (BEIJING_1, BEIJING_2, BEIJING_4, TIANJIN_1, TIANJIN_3, SHIJIAZHUANG_1)

# fmt: off
# Bus lines: (line_id, city_code, number, stops). Stop names are drawn from STOP_NAMES.
BUS_LINES: tuple[tuple[str, str, int, int], ...] = (
    ("bd-b1", "130600", 1, 12),
    ("bd-b6", "130600", 6, 10),
    ("ts-b2", "130200", 2, 12),
    ("ts-b9", "130200", 9, 10),
    ("lf-b3", "131000", 3, 10),
    ("hd-b1", "130400", 1, 10),
    ("qhd-b33", "130300", 33, 10),
)

STOP_NAMES: tuple[tuple[str, str], ...] = (
    ("人民路口", "Renmin Road"), ("建设路口", "Jianshe Road"), ("解放路口", "Jiefang Road"),
    ("中山路口", "Zhongshan Road"), ("新华路口", "Xinhua Road"), ("和平路口", "Heping Road"),
    ("胜利路口", "Shengli Road"), ("朝阳路口", "Chaoyang Road"), ("裕华路口", "Yuhua Road"),
    ("东风路口", "Dongfeng Road"), ("长城路口", "Changcheng Road"), ("光明路口", "Guangming Road"),
    ("文化路口", "Wenhua Road"), ("北大街", "North Street"), ("火车站", "Railway Station"),
    ("市政府", "City Government"), ("人民医院", "People's Hospital"), ("体育场", "Stadium"),
    ("汽车站", "Bus Terminal"), ("万达广场", "Wanda Plaza"), ("师范学院", "Normal College"),
    ("开发区", "Development Zone"), ("百货大楼", "Department Store"), ("公园", "City Park"),
    ("第一中学", "No. 1 Middle School"), ("工业园", "Industrial Park"), ("新村", "Xincun"),
    ("高铁站", "High-speed Railway Station"),
)

# Road sensors: (city_code, road_zh, road_en, spot_zh, spot_en, lanes, free-flow km/h).
ROAD_SENSORS: tuple[tuple[str, str, str, str, str, int, int], ...] = (
    ("110000", "二环路", "2nd Ring Road", "德胜门", "Deshengmen", 3, 70),
    ("110000", "二环路", "2nd Ring Road", "东直门", "Dongzhimen", 3, 70),
    ("110000", "三环路", "3rd Ring Road", "国贸桥", "Guomao Bridge", 4, 75),
    ("110000", "三环路", "3rd Ring Road", "公主坟", "Gongzhufen", 4, 75),
    ("110000", "四环路", "4th Ring Road", "四元桥", "Siyuan Bridge", 4, 80),
    ("110000", "四环路", "4th Ring Road", "中关村", "Zhongguancun", 4, 80),
    ("110000", "长安街", "Chang'an Avenue", "复兴门", "Fuxingmen", 4, 60),
    ("110000", "京藏高速", "G6 Jingzang Expressway", "回龙观", "Huilongguan", 4, 100),
    ("110000", "京藏高速", "G6 Jingzang Expressway", "八达岭", "Badaling", 3, 100),
    ("110000", "京港澳高速", "G4 Beijing-Hong Kong-Macau Expressway", "杜家坎", "Dujiakan", 4, 100),
    ("120000", "中环线", "Middle Ring Road", "天塔", "Tianta", 3, 60),
    ("120000", "快速路", "Expressway", "海河东路", "Haihe East Road", 3, 70),
    ("120000", "京津塘高速", "G2 Jingjintang Expressway", "杨村", "Yangcun", 3, 110),
    ("120000", "外环线", "Outer Ring Road", "津静公路", "Jinjing Road", 3, 70),
    ("130100", "二环路", "2nd Ring Road", "中华大街", "Zhonghua Street", 3, 60),
    ("130100", "中山路", "Zhongshan Road", "北国商城", "Beiguo Mall", 3, 50),
    ("130100", "京港澳高速", "G4 Expressway", "石家庄北", "Shijiazhuang North", 4, 110),
    ("130600", "东风路", "Dongfeng Road", "七一路口", "Qiyi Road", 2, 50),
    ("130600", "京港澳高速", "G4 Expressway", "保定北", "Baoding North", 4, 110),
    ("130200", "新华道", "Xinhua Road", "建设路口", "Jianshe Road", 3, 50),
    ("130200", "唐津高速", "G25 Tangjin Expressway", "唐山西", "Tangshan West", 3, 110),
    ("131000", "京津塘高速", "G2 Jingjintang Expressway", "廊坊", "Langfang", 3, 110),
    ("130700", "京藏高速", "G6 Jingzang Expressway", "怀来", "Huailai", 3, 100),
    ("130700", "张石高速", "G95 Capital Ring Expressway", "张家口南", "Zhangjiakou South", 2, 100),
    ("130300", "河北大街", "Hebei Street", "火车站", "Railway Station", 2, 50),
    ("130400", "人民路", "Renmin Road", "中华大街", "Zhonghua Street", 2, 50),
)

# Air monitors per city (most have two; the large cities more).
AIR_MONITORS_PER_CITY = {"110000": 4, "120000": 3}
AIR_MONITOR_NAMES: tuple[tuple[str, str], ...] = (
    ("市监测站", "City Monitoring Station"), ("开发区", "Development Zone"),
    ("高新区", "High-tech Zone"), ("市政府", "City Government"),
)
# fmt: on
