"""Every sentence the bot says, in English and Chinese.

`tr(lang, key, **values)` picks the language from a Telegram `language_code` (zh* is
Chinese, anything else English) and fills the placeholders. Both tables must have the
same keys and placeholders; a test checks it.
"""

from __future__ import annotations

#: Telegram's limit is 4096 UTF-16 code units; keep a margin for the ellipsis.
MAX_TEXT = 4000
#: How much of the model's, or the gateway's, own words is relayed to the user.
RELAYED_TEXT = 1500
RELAYED_ERROR = 300

EN: dict[str, str] = {
    "help": (
        "I turn words into pictures with Gemini 2.5 Flash Image.\n\n"
        "• Send any text (or /draw <prompt>) and I'll draw it.\n"
        "• Send a photo or an image file with a caption and I'll edit it.\n"
        "• Send an album with a caption and I'll merge the images.\n"
        "• Reply to any image (mine too) with an instruction to edit it again.\n"
        "• /hd <prompt> makes a 4K image, delivered as the original file.\n"
        "• Add --ar 16:9 (or start with 16:9) for another aspect ratio.\n\n"
        "/quota shows what you have left today; /cancel drops images waiting for "
        "an instruction."
    ),
    "help_group": (
        "\n\nIn groups, address me: use a command (/draw …), mention @{bot}, or reply "
        "to one of my messages."
    ),
    "queued": "All image slots are busy. You are number {position} in the queue.",
    "too_many_in_flight": (
        "Still working on your previous images. Send this again when one of them is done."
    ),
    "quota_exceeded": ("You have used today's {limit} images. Your quota resets in {reset}."),
    "quota_zero": "Image requests are switched off for your account.",
    "access_denied": "Sorry, this bot is private and not available to you.",
    "nothing_charged": "Nothing was charged.",
    "gateway_unreachable": (
        "The image service can't be reached right now. Please try again in a minute."
    ),
    "gateway_timeout": "The image service took too long to answer. Please try again.",
    "gateway_rate_limited": (
        "The image service is overloaded right now. Please try again in a minute."
    ),
    "gateway_refused": "The image service refused this request: {message}",
    "gateway_unavailable": ("The image service is unavailable right now. Please try again later."),
    "safety_blocked": (
        "The model's safety filter blocked this request. Please rephrase it; "
        "sending the same words again will be blocked again."
    ),
    "gateway_server": "The image service had an internal error. Please try again.",
    "gateway_malformed": ("The image service sent back something I can't use. Please try again."),
    "result_download_failed": ("The image was made but could not be downloaded. Please try again."),
    "no_image": "The model answered without an image:\n\n{text}",
    "no_image_silent": "The model did not return an image. Try rephrasing your request.",
    "unsupported_ratio": "Unsupported aspect ratio {ratio}. Use one of: {ratios}.",
    "empty_prompt": "Tell me what to draw, for example: /draw a corgi astronaut, watercolor",
    "empty_edit": "Tell me what to do with the image, for example: make it a watercolor",
    "unsupported_media": (
        "I can only work with photos and image files (PNG, JPG, WEBP, HEIC). Send a "
        "picture with a caption saying what to change, or just text to draw something new."
    ),
    "input_too_large": (
        "That image is larger than the {limit} MB this bot can download from Telegram. "
        "Please send a smaller file, or send it as a photo instead of a file."
    ),
    "input_invalid": (
        "I couldn't read that image: it seems damaged or isn't an image. Try another file."
    ),
    "inputs_gone": (
        "The original images of this result are no longer available. Please send them again."
    ),
    "internal": "Something went wrong on my side. Please try again.",
    "too_many_pixels": (
        "That image is too large to process ({width}×{height} pixels). Please send one "
        "under 50 megapixels."
    ),
    "input_download_failed": (
        "I couldn't download your image from Telegram just now. Please try again."
    ),
    "delivery_failed": (
        "The image was made, but Telegram would not take it from me. Please try again."
    ),
    "interrupted": (
        "Sorry, the bot restarted before your image was ready. Nothing was charged; please "
        "send your request again."
    ),
    "pending_saved": (
        "Got {count} image(s). Now tell me what to do with them (within 10 minutes), or /cancel."
    ),
    "pending_cancelled": "Dropped {count} image(s) that were waiting for an instruction.",
    "nothing_to_cancel": "There is nothing to cancel.",
    "too_many_images": "You sent {count} images; I used the first {max}.",
    "album_skipped": "Only images are used; {count} other item(s) in the album were skipped.",
    "button_again": "🔁 Again",
    "button_hd": "HD",
    "button_working": "Working on it…",
    "original_file": "Original file, {size}.",
    "unknown_command": "I don't know that command. /help shows what I can do.",
    "admin_only": "This command is for the bot's admins.",
    "usage_setquota": "Usage: /setquota <user_id> <number|unlimited>",
    "usage_ban": "Usage: /ban <user_id>",
    "usage_unban": "Usage: /unban <user_id>",
    "quota_set": "User {user}: daily limit set to {limit}.",
    "quota_set_unlimited": "User {user}: no daily limit.",
    "banned": "User {user} is banned.",
    "unbanned": "User {user} is no longer banned.",
    "quota_today": "Today: {used} of {limit} used, {left} left. Resets in {reset}.",
    "quota_today_unlimited": "Today: {used} used, no daily limit.",
    "quota_hd_cost": "An HD image counts as {cost}.",
    "quota_all_time": "All time: {images} images, cost {cost}.",
    "quota_recent": "Your last requests:",
    "quota_none": "No requests yet.",
    "stats_today": (
        "Today ({day}): {requests} requests, {images} images, {failures} failed, cost {cost}."
    ),
    "stats_all_time": (
        "All time: {requests} requests, {images} images, {failures} failed, cost {cost}."
    ),
    "stats_top_today": "Top users today:",
    "stats_top_all_time": "Top users, all time:",
    "stats_top_line": "{rank}. {who}: {images} images, {cost}",
    "status_ok": "done",
    "status_failed": "failed",
    "status_no_image": "no image",
    "status_over_quota": "over quota",
    "status_denied": "denied",
    "status_reserved": "running",
    "cmd_draw": "Draw a picture from a description",
    "cmd_hd": "Draw or edit in 4K, delivered as a file",
    "cmd_quota": "What you have left today",
    "cmd_cancel": "Drop images waiting for an instruction",
    "cmd_help": "How to use the bot",
    "cmd_stats": "Usage totals and top users (admin)",
    "cmd_setquota": "Set a user's daily limit (admin)",
    "cmd_ban": "Ban a user (admin)",
    "cmd_unban": "Unban a user (admin)",
}

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

_TABLES = {"en": EN, "zh": ZH}


def language(code: str | None) -> str:
    """`zh` for any Chinese Telegram language code, else `en`."""
    return "zh" if code and code.lower().startswith("zh") else "en"


def tr(lang: str, key: str, **values: object) -> str:
    """The sentence `key` in `lang` (`en`/`zh` or a raw language code), filled in."""
    table = _TABLES.get(lang) or _TABLES[language(lang)]
    return table[key].format(**values) if values else table[key]


def shorten(text: str, limit: int = MAX_TEXT) -> str:
    """`text` cut to `limit` UTF-16 code units (Telegram's measure), with an ellipsis when cut."""
    if len(text.encode("utf-16-le")) // 2 <= limit:
        return text
    cut = text.encode("utf-16-le")[: (limit - 1) * 2].decode("utf-16-le", "ignore")
    return cut.rstrip() + "…"


def with_nothing_charged(lang: str, sentence: str) -> str:
    """`sentence` followed by "Nothing was charged." (after a blank line if it is long; no
    space after Chinese full-width punctuation)."""
    gap = "\n\n" if "\n" in sentence else "" if sentence.endswith(("。", "！", "？")) else " "
    return f"{sentence}{gap}{tr(lang, 'nothing_charged')}"


def duration(lang: str, seconds: int) -> str:
    """A short human duration: `3 h 12 min` / `3 小时 12 分钟`."""
    hours, minutes = divmod(max(60, seconds) // 60, 60)
    if language(lang) == "zh":
        return f"{hours} 小时 {minutes} 分钟" if hours else f"{minutes} 分钟"
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def money(amount: float) -> str:
    """A cost as recorded (gateway currency units), e.g. `$0.084`."""
    return f"${amount:.3f}".rstrip("0").rstrip(".") if amount else "$0"


def size(nbytes: int) -> str:
    """`12.3 MB` style sizes."""
    if nbytes >= 1024 * 1024:
        return f"{nbytes / 1024 / 1024:.1f} MB"
    return f"{max(1, nbytes // 1024)} KB"
