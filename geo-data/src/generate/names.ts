import type { Random } from './random.js';

/**
 * Chinese names in the style of Shanghai: roads named after provinces and cities, 街道 and 社区
 * named after places and roads, people with common surnames. All fictitious combinations.
 */
const PLACES = [
  '金陵', '延安', '福州', '汉口', '九江', '宁波', '天潼', '海宁', '武进', '长治', '唐山', '昆明', '惠民', '霍山',
  '临平', '大连', '许昌', '松潘', '平凉', '江浦', '保定', '控江', '鞍山', '本溪', '锦州', '凤城', '延吉', '包头',
  '铁岭', '营口', '辽源', '靖宇', '嫩江', '黄兴', '国和', '政立', '国权', '邯郸', '长海', '民星', '翔殷', '殷行',
  '开鲁', '淞沪', '南京', '天津', '广东', '浙江', '江西', '河南', '四川', '山东', '山西', '福建', '湖北', '云南',
  '贵州', '广西', '陕西', '甘肃', '青海', '宁夏', '吉林', '辽宁', '安徽', '湖南', '重庆', '成都', '武昌', '汉阳',
  '苏州', '无锡', '常熟', '昆山', '太仓', '嘉兴', '湖州', '绍兴', '温州', '台州', '衢州', '金华', '丽水', '舟山',
  '宜兴', '溧阳', '江阴', '泰兴', '如皋', '南通', '扬州', '镇江', '常州', '徐州', '淮安', '盐城', '宿迁', '芜湖',
  '安庆', '蚌埠', '合肥', '九华', '黄山', '庐山', '泰山', '华山', '衡山', '嵩山', '峨眉', '普陀', '雁荡', '天目',
  '莫干', '西湖', '太湖', '洞庭', '鄱阳', '巢湖', '洪泽', '汾阳', '晋城', '大同', '榆林', '延长', '宝鸡', '汉中',
  '桂林', '柳州', '梧州', '北海', '南宁', '贵阳', '遵义', '昭通', '大理', '丽江', '拉萨', '日喀则', '西宁', '银川',
  '石门', '威海', '烟台', '青岛', '潍坊', '淄博', '济南', '曲阜', '临沂', '日照', '东营', '德州', '聊城', '菏泽',
  '开封', '洛阳', '商丘', '信阳', '许昌', '漯河', '周口', '新乡', '安阳', '濮阳', '焦作', '鹤壁', '三门峡', '南阳',
];

const NEIGHBOURHOODS = [
  '外滩', '豫园', '老西门', '小东门', '五里桥', '打浦桥', '半淞园', '江湾', '曹家渡', '静安寺', '彭浦', '临汾',
  '芷江', '大宁', '共和新', '宝山', '曲阳', '四川北', '欧阳', '广中', '凉城', '新江湾', '殷行', '五角场', '长白',
  '延吉', '定海', '平凉', '大桥', '江浦', '控江', '四平', '新华', '天平', '湖南', '枫林', '斜土', '龙华', '田林',
  '虹梅', '漕河泾', '长桥', '凌云', '康健', '华泾', '徐家汇', '天山', '仙霞', '虹桥', '周家桥', '新泾', '程家桥',
];

const SURNAMES = [
  '王', '李', '张', '刘', '陈', '杨', '黄', '赵', '吴', '周', '徐', '孙', '马', '朱', '胡', '郭', '何', '高', '林',
  '罗', '郑', '梁', '谢', '宋', '唐', '许', '韩', '冯', '邓', '曹', '彭', '曾', '肖', '田', '董', '袁', '潘', '蒋',
  '蔡', '余', '杜', '叶', '程', '苏', '魏', '吕', '丁', '沈', '姚', '卢', '姜', '崔', '钟', '谭', '陆', '汪', '范',
  '金', '石', '贾', '夏', '方', '邹', '孟', '秦', '顾', '毛', '龚', '邵', '钱', '严', '戴', '孔', '汤', '倪', '施',
];

const GIVEN = [
  '伟', '芳', '娜', '敏', '静', '丽', '强', '磊', '军', '洋', '勇', '艳', '杰', '娟', '涛', '明', '超', '秀英', '霞',
  '平', '刚', '桂英', '建华', '志强', '晓东', '海燕', '玉兰', '国强', '文', '斌', '婷', '雪', '琳', '浩', '宇', '欣',
  '怡', '佳', '俊', '凯', '鹏', '辉', '华', '红', '梅', '兰', '萍', '燕', '健', '峰', '亮', '飞', '鑫', '波', '丹',
  '倩', '颖', '璐', '晨', '阳', '昊', '睿', '嘉怡', '子涵', '思远', '雨欣', '浩然', '一鸣', '卫东', '建国', '美华',
  '秀兰', '金凤', '根宝', '阿毛', '小弟', '惠珍', '佩琴', '国平', '德明', '永康', '立新', '春华', '秋萍', '冬梅',
];

const COMPOUND = ['新村', '小区', '花园', '公寓', '苑', '坊', '家园', '大楼'];
const LILONG = ['里', '坊', '邨', '村'];
const VIRTUES = ['福', '安', '康', '德', '和', '平', '兴', '隆', '昌', '泰', '顺', '祥', '瑞', '荣', '华', '嘉',
  '庆', '丰', '宝', '永', '裕', '益', '慈', '仁', '宁', '善', '怡', '静', '乐', '鸿', '源', '盛'];

/** Generic endings, longest first, before which a numeral goes. */
const ENDINGS = ['初级中学', '街心花园', '社区', '街道', '大道', '支路', '新村', '花园', '公寓', '小区', '家园', '大楼', '大厦',
  '广场', '商厦', '中心', '小学', '中学', '幼儿园', '公园', '绿地', '路', '街', '里', '坊', '邨', '村', '苑'].sort((a, b) => b.length - a.length);

/** 2 → 二, 12 → 十二, 45 → 四十五 (and plain digits past 99, which the generator never reaches in practice). */
function numeral(n: number): string {
  const d = '〇一二三四五六七八九';
  if (n < 10) return d[n];
  if (n < 20) return `十${n % 10 ? d[n % 10] : ''}`;
  if (n < 100) return `${d[Math.floor(n / 10)]}十${n % 10 ? d[n % 10] : ''}`;
  return String(n);
}

/** Names drawn without repetition from shuffled pools (with a numeral suffix once a pool runs out). */
export class NameBook {
  private readonly places: string[];
  private readonly neighbourhoods: string[];
  private placeIndex = 0;
  private neighbourhoodIndex = 0;
  private readonly used = new Set<string>();

  constructor(private readonly rng: Random) {
    this.places = rng.shuffle([...new Set(PLACES)]);
    this.neighbourhoods = rng.shuffle(NEIGHBOURHOODS);
  }

  /** A fresh place stem such as 金陵 or 九江. */
  place(): string {
    const stem = this.places[this.placeIndex % this.places.length];
    const round = Math.floor(this.placeIndex++ / this.places.length);
    return round === 0 ? stem : `${stem}${['', '新', '北', '南', '东', '西', '中'][round % 7]}`;
  }

  /** A road name; long roads get a 东/中/西 or 南/北 part to sound like Shanghai's. */
  road(kind: 'major' | 'minor' | 'lane'): string {
    return this.fresh(() => {
      const stem = this.place();
      if (kind === 'lane') return `${stem}${this.rng.pick(['支路', '街', '路', '路'])}`;
      if (kind === 'major' && this.rng.chance(0.5)) return `${stem}${this.rng.pick(['东', '中', '西', '南', '北'])}路`;
      return `${stem}路`;
    });
  }

  /** A 街道 name, e.g. 外滩街道 or 金陵东路街道. */
  street(nearbyRoad: string | null): string {
    if (nearbyRoad && !this.used.has(`${nearbyRoad}街道`) && this.rng.chance(0.4)) return this.fresh(() => `${nearbyRoad}街道`);
    return this.fresh(() => `${this.neighbourhoods[this.neighbourhoodIndex++ % this.neighbourhoods.length]}街道`);
  }

  /** A 社区 name, usually after a road that bounds it, e.g. 金陵东路社区. */
  community(nearbyRoads: string[]): string {
    for (const road of nearbyRoads) {
      const name = `${road}社区`;
      if (!this.used.has(name) && this.rng.chance(0.8)) return this.fresh(() => name);
    }
    return this.fresh(() => `${this.virtue()}${this.rng.pick(['新村', '苑', '里', '坊'])}社区`);
  }

  /** A residential compound name: 建业里 for old lanes, 康乐新村 or 金陵花园 for newer estates. */
  compound(style: 'lilong' | 'estate'): string {
    if (style === 'lilong') return this.fresh(() => `${this.virtue()}${this.rng.pick(LILONG)}`);
    return this.fresh(() => `${this.rng.chance(0.5) ? this.virtue() : this.place()}${this.rng.pick(COMPOUND)}`);
  }

  /** A name for a non-residential site, e.g. 金陵大厦, 九江路小学, 康宁公园. */
  site(kind: 'commercial' | 'school' | 'park', road: string): string {
    if (kind === 'school') return this.fresh(() => `${road.replace(/路$/, '')}${this.rng.pick(['小学', '中学', '幼儿园', '初级中学', '第二小学'])}`);
    if (kind === 'park') return this.fresh(() => `${this.virtue()}${this.rng.pick(['公园', '绿地', '街心花园'])}`);
    return this.fresh(() => `${this.rng.chance(0.5) ? this.virtue() : this.place()}${this.rng.pick(['大厦', '广场', '商厦', '中心'])}`);
  }

  person(): string {
    return `${this.rng.pick(SURNAMES)}${this.rng.pick(GIVEN)}`;
  }

  surname(): string {
    return this.rng.pick(SURNAMES);
  }

  private virtue(): string {
    return `${this.rng.pick(VIRTUES)}${this.rng.pick(VIRTUES)}`;
  }

  /**
   * A name not given out before: a few fresh draws, then a numbered variant as a last resort, in
   * the Shanghai way (国定一路, 长海二村): the numeral goes before the generic ending, and names
   * stay free of digits so that house numbers in addresses read unambiguously.
   */
  private fresh(make: () => string): string {
    let name = make();
    for (let i = 0; i < 12 && this.used.has(name); i++) name = make();
    const base = name;
    const ending = ENDINGS.find((e) => base.endsWith(e) && base.length > e.length) ?? '';
    const stem = base.slice(0, base.length - ending.length);
    for (let i = 2; this.used.has(name); i++) name = `${stem}${numeral(i)}${ending}`;
    this.used.add(name);
    return name;
  }
}

/** Fictitious district names (the codes 3101xx beyond the real ones are fictitious too). */
export const DISTRICT_NAMES = ['申江区', '浦江区', '春申区', '淞滨区', '沪东区', '沪西区', '浦阳区', '华漕区'];
