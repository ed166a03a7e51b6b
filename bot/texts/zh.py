"""The Chinese sentences (`bot.texts`); the same keys and placeholders as `en`."""

from __future__ import annotations

ZH: dict[str, str] = {
    "help": (
        "我用 Gemini 2.5 Flash Image 把文字变成图片。\n\n"
        "• 发送任意文字（或 /draw <描述>），我来画。\n"
        "• 发送带说明的照片或图片文件，我来修改它。\n"
        "• 发送带说明的相册，我把图片合成为一张。\n"
        "• 回复任意图片（包括我的结果）并写下要求，可以继续修改。\n"
        "• /hd <描述> 生成 4K 图片，以原始文件发送。\n"
        "• 加上 --ar 16:9（或以 16:9 开头）可指定画面比例。\n\n"
        "/quota 查看今天剩余额度；/cancel 丢弃等待说明的图片。"
    ),
    "help_group": ("\n\n在群组中请这样叫我：使用命令（/draw …）、提及 @{bot}，或回复我的消息。"),
    "queued": "所有生成通道都在忙，你排在第 {position} 位。",
    "too_many_in_flight": "你之前的图片还在生成中，请等其中一张完成后再发送。",
    "quota_exceeded": "你今天的 {limit} 张额度已用完，将在 {reset} 后重置。",
    "quota_zero": "你的账号已关闭生成图片功能。",
    "access_denied": "抱歉，这是私人机器人，你暂时无法使用。",
    "nothing_charged": "本次未扣除额度。",
    "gateway_unreachable": "暂时无法连接图片服务，请一分钟后再试。",
    "gateway_timeout": "图片服务响应超时，请重试。",
    "gateway_rate_limited": "图片服务当前繁忙，请一分钟后再试。",
    "gateway_refused": "图片服务拒绝了这个请求：{message}",
    "gateway_unavailable": "图片服务暂时不可用，请稍后再试。",
    "safety_blocked": "模型的安全过滤拦截了这个请求。请换个说法；原样重发仍会被拦截。",
    "gateway_server": "图片服务内部出错，请重试。",
    "gateway_malformed": "图片服务返回了无法使用的内容，请重试。",
    "result_download_failed": "图片已生成但下载失败，请重试。",
    "no_image": "模型没有返回图片，它说：\n\n{text}",
    "no_image_silent": "模型没有返回图片，请换个说法再试。",
    "unsupported_ratio": "不支持的画面比例 {ratio}。可用比例：{ratios}。",
    "empty_prompt": "请告诉我要画什么，例如：/draw 水彩风格的柯基宇航员",
    "empty_edit": "请告诉我要怎么修改这张图片，例如：改成水彩风格",
    "unsupported_media": (
        "我只能处理照片和图片文件（PNG、JPG、WEBP、HEIC）。请发送带修改说明的图片，"
        "或直接发送文字来生成新图片。"
    ),
    "input_too_large": (
        "这张图片超过了本机器人可从 Telegram 下载的 {limit} MB 上限。"
        "请发送更小的文件，或以照片形式发送。"
    ),
    "input_invalid": "无法读取这张图片：文件可能已损坏或不是图片。请换一个文件。",
    "inputs_gone": "这个结果的原始图片已不可用，请重新发送。",
    "internal": "我这边出了点问题，请重试。",
    "too_many_pixels": (
        "这张图片太大，无法处理（{width}×{height} 像素）。请发送小于 5000 万像素的图片。"
    ),
    "input_download_failed": "暂时无法从 Telegram 下载你的图片，请重试。",
    "delivery_failed": "图片已生成，但 Telegram 没有接收它。请重试。",
    "interrupted": "抱歉，机器人在你的图片完成前重启了。本次未扣除额度，请重新发送请求。",
    "pending_saved": "已收到 {count} 张图片。请在 10 分钟内告诉我要怎么处理，或发送 /cancel。",
    "pending_cancelled": "已丢弃 {count} 张等待说明的图片。",
    "nothing_to_cancel": "没有需要取消的内容。",
    "too_many_images": "你发送了 {count} 张图片，我使用了前 {max} 张。",
    "album_skipped": "只使用图片；相册中另外 {count} 个项目已跳过。",
    "button_again": "🔁 再来一张",
    "button_hd": "高清",
    "button_working": "正在处理…",
    "original_file": "原始文件，{size}。",
    "unknown_command": "我不认识这个命令。发送 /help 查看用法。",
    "admin_only": "此命令仅限机器人管理员使用。",
    "usage_setquota": "用法：/setquota <用户ID> <数字|unlimited>",
    "usage_ban": "用法：/ban <用户ID>",
    "usage_unban": "用法：/unban <用户ID>",
    "quota_set": "用户 {user}：每日额度已设为 {limit}。",
    "quota_set_unlimited": "用户 {user}：不限每日额度。",
    "banned": "用户 {user} 已被封禁。",
    "unbanned": "用户 {user} 已解除封禁。",
    "quota_today": "今天：已用 {used}/{limit}，剩余 {left}。{reset} 后重置。",
    "quota_today_unlimited": "今天：已用 {used}，不限额度。",
    "quota_hd_cost": "一张高清图片计 {cost} 次。",
    "quota_all_time": "累计：{images} 张图片，费用 {cost}。",
    "quota_recent": "最近的请求：",
    "quota_none": "还没有请求记录。",
    "stats_today": (
        "今天（{day}）：{requests} 次请求，{images} 张图片，{failures} 次失败，费用 {cost}。"
    ),
    "stats_all_time": "累计：{requests} 次请求，{images} 张图片，{failures} 次失败，费用 {cost}。",
    "stats_top_today": "今日用户排行：",
    "stats_top_all_time": "累计用户排行：",
    "stats_top_line": "{rank}. {who}：{images} 张，{cost}",
    "status_ok": "完成",
    "status_failed": "失败",
    "status_no_image": "无图片",
    "status_over_quota": "超出额度",
    "status_denied": "被拒绝",
    "status_reserved": "进行中",
    "cmd_draw": "根据描述生成图片",
    "cmd_hd": "生成或修改 4K 图片，以文件发送",
    "cmd_quota": "查看今天的剩余额度",
    "cmd_cancel": "丢弃等待说明的图片",
    "cmd_help": "使用说明",
    "cmd_stats": "用量统计与排行（管理员）",
    "cmd_setquota": "设置用户每日额度（管理员）",
    "cmd_ban": "封禁用户（管理员）",
    "cmd_unban": "解除封禁（管理员）",
}
