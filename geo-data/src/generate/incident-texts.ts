/** What residents and grid workers report, per category: realistic short descriptions in Chinese. */
export const CATEGORY_TEXTS = {
  dispute: [
    '楼上住户装修噪音扰民，邻里发生争吵，请网格员上门调解。',
    '楼上卫生间漏水至楼下，双方就维修费用产生纠纷。',
    '租户与房东因押金退还问题发生纠纷，情绪较为激动。',
    '居民在楼道堆放杂物，与邻居发生口角。',
    '因车位被长期占用，两户居民发生争执。',
    '宠物狗夜间吠叫影响休息，邻里矛盾升级。',
    '家庭内部因赡养老人问题产生矛盾，需要社区调解。',
    '相邻商户因占用公共区域发生争执。',
  ],
  safety_hazard: [
    '楼道内有电动自行车充电，存在火灾隐患。',
    '有居民从窗口私拉电线给电瓶车充电（飞线充电）。',
    '外墙瓷砖松动，有高空坠落风险。',
    '路面窨井盖破损，存在安全隐患。',
    '一楼住户违章搭建，占用消防通道。',
    '燃气管道老化，闻到异味，需燃气公司检查。',
    '空调外机支架锈蚀严重，有坠落风险。',
    '施工围挡倾斜，影响行人安全。',
  ],
  sanitation: [
    '垃圾箱房满溢，湿垃圾未及时清运，异味较大。',
    '有人随意倾倒装修垃圾。',
    '绿化带内积水，蚊虫滋生。',
    '垃圾分类投放点混投现象严重。',
    '路面油污较多，需保洁处理。',
    '小区内流浪猫聚集，居民反映卫生问题。',
    '沿街商户占道堆放纸板等杂物。',
  ],
  public_facility: [
    '路灯不亮，夜间出行不便。',
    '小区健身器材损坏，存在安全隐患。',
    '人行道地砖破损翘起。',
    '公共厕所水龙头损坏漏水。',
    '小区门禁系统故障，外来人员随意进出。',
    '居民询问加装电梯的进展。',
    '雨水井堵塞，雨天积水。',
    '公交站候车亭玻璃破碎。',
  ],
  appeal: [
    '独居老人反映行动不便，希望提供助餐服务。',
    '居民咨询公租房申请流程。',
    '反映物业服务不到位，楼道长期无人打扫。',
    '居民希望增设非机动车停车棚。',
    '咨询居住证办理所需材料。',
    '反映菜场附近早市噪音扰民。',
    '残疾人家庭申请临时救助。',
    '希望在小区内增设快递柜。',
  ],
  fire: [
    '厨房油锅起火冒烟，已有居民拨打119。',
    '楼道堆放杂物堵塞消防通道。',
    '消防栓损坏无水。',
    '地下车库电瓶车起火冒烟。',
    '商铺门口灭火器过期。',
    '垃圾箱房起火，火势较小。',
  ],
  traffic: [
    '机动车违停占用非机动车道，影响通行。',
    '共享单车乱停放，占用盲道。',
    '路口信号灯故障，交通拥堵。',
    '渣土车未覆盖，沿路洒落。',
    '早高峰学校门口车辆拥堵。',
    '有车辆逆向行驶。',
  ],
  emergency: [
    '有老人摔倒受伤，需要协助送医。',
    '水管爆裂，楼道大量积水。',
    '暴雨导致路面积水严重，车辆无法通行。',
    '电梯困人，已联系维保单位。',
    '疑似燃气泄漏，居民已撤离。',
    '有人晕倒在路边，已拨打120。',
    '树木被大风刮倒，压住停放车辆。',
  ],
} as const;

export type Category = keyof typeof CATEGORY_TEXTS;

/** Share of each category among all reports. */
export const CATEGORY_WEIGHTS: Record<Category, number> = {
  dispute: 0.14,
  safety_hazard: 0.14,
  sanitation: 0.22,
  public_facility: 0.16,
  appeal: 0.18,
  fire: 0.03,
  traffic: 0.1,
  emergency: 0.03,
};

/** Chance that a report is about a building (else a spot on a street). */
export const AT_BUILDING: Record<Category, number> = {
  dispute: 0.95,
  safety_hazard: 0.7,
  sanitation: 0.5,
  public_facility: 0.4,
  appeal: 0.9,
  fire: 0.85,
  traffic: 0.05,
  emergency: 0.6,
};

export type Priority = 'low' | 'normal' | 'high' | 'urgent';

export const PRIORITY_WEIGHTS: Record<Category, Record<Priority, number>> = {
  dispute: { low: 0.2, normal: 0.6, high: 0.18, urgent: 0.02 },
  safety_hazard: { low: 0.1, normal: 0.45, high: 0.35, urgent: 0.1 },
  sanitation: { low: 0.45, normal: 0.5, high: 0.05, urgent: 0 },
  public_facility: { low: 0.35, normal: 0.55, high: 0.1, urgent: 0 },
  appeal: { low: 0.4, normal: 0.55, high: 0.05, urgent: 0 },
  fire: { low: 0, normal: 0.1, high: 0.4, urgent: 0.5 },
  traffic: { low: 0.2, normal: 0.55, high: 0.2, urgent: 0.05 },
  emergency: { low: 0, normal: 0.1, high: 0.4, urgent: 0.5 },
};

/** How a report came in; a grid worker's own finding has no reporter contact. */
export const CHANNELS = { '': 0.3, '居民来电反映：': 0.2, '网格员巡查发现：': 0.25, '12345热线转办：': 0.15, '随申办上报：': 0.1 };
