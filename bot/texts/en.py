"""The English sentences (`bot.texts`)."""

from __future__ import annotations

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
    "quota_exceeded": "You have used today's {limit}. Your quota resets in {reset}.",
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
    "usage_ban": "Usage: /ban <user_id>",
    "usage_unban": "Usage: /unban <user_id>",
    "quota_set": "User {user}: daily limit set to {limit}.",
    "quota_set_unlimited": "User {user}: no daily limit.",
    "banned": "User {user} is banned.",
    "unbanned": "User {user} is no longer banned.",
    "quota_today": "Today: {used} of {limit} used, {left} left. Resets in {reset}.",
    "quota_today_unlimited": "Today: {used} used, no daily limit.",
    "quota_hd_cost": "An HD image counts as {cost}.",
    "quota_all_time": "All time: {images}, cost {cost}.",
    "quota_recent": "Your last requests:",
    "quota_none": "No requests yet.",
    "stats_today": ("Today ({day}): {requests}, {images}, {failures} failed, cost {cost}."),
    "stats_all_time": ("All time: {requests}, {images}, {failures} failed, cost {cost}."),
    "stats_top_today": "Top users today:",
    "stats_top_all_time": "Top users, all time:",
    "stats_top_line": "{rank}. {who}: {images}, {cost}",
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
    "group_quota_exceeded": (
        "This group has used today's {limit}. It resets in {reset}; "
        "images bought with /buy still work here."
    ),
    "budget_exhausted": "The bot's daily budget is used up. It resets in {reset}.",
    "alert_balance": (
        "⚠️ The gateway account has run out of balance (since {since}). Users are told the "
        "image service is unavailable and nothing is charged. Top up the account at the gateway."
    ),
    "alert_balance_over": "✅ The gateway account works again (out of balance since {since}, {minutes} min).",
    "alert_key": (
        "⚠️ The gateway rejects the bot's API key (since {since}). No images can be made. "
        "Check IMAGE_API_KEY and the key's group at the gateway."
    ),
    "alert_key_over": "✅ The gateway accepts the API key again (refused since {since}, {minutes} min).",
    "alert_failures": (
        "⚠️ 5 requests in a row failed at the gateway (since {since}). Users are told "
        "nothing was charged. Check the gateway's status and the bot's log."
    ),
    "alert_failures_over": "✅ The gateway makes images again (failing since {since}, {minutes} min).",
    "alert_budget": (
        "⚠️ DAILY_BUDGET is reached (at {since}): no more images today. Users are told when "
        "it resets. Raise DAILY_BUDGET if that is too low."
    ),
    "alert_budget_over": "✅ A new day: the daily budget is available again (reached at {since}).",
    "kind_generate": "text to image",
    "kind_edit": "edit",
    "kind_merge": "merge",
    "quota_credits": "Credits: {credits} (bought with Stars; used once today's free images are spent).",
    "quota_group": "This group today: {used} of {limit} used.",
    "quota_group_unlimited": "This group today: {used} used, no limit.",
    "stats_budget": "Spent today: {spent} of the daily budget {budget}.",
    "stats_spent": "Spent today: {spent} (no daily budget).",
    "buy_packs": "Buy images with Telegram Stars. Credits never expire and are used once today's free images are spent.",
    "buy_button": "{images} for {stars} ⭐",
    "buy_off": "This bot does not sell images.",
    "buy_in_private": "Buying works in a private chat with me:",
    "buy_open_private": "Open the private chat",
    "buy_unknown_pack": "There is no pack of {images}. Packs: {packs}.",
    "invoice_title": "{images}",
    "invoice_description": "{images} for this bot, added to your credits at once. Credits never expire.",
    "pay_unknown": "This offer is no longer available. Send /buy for the current packs.",
    "pay_banned": "You cannot buy images from this bot.",
    "pay_thanks": "Thank you! {images} added. Your credits: {credits}.",
    "paysupport": (
        "Questions about a payment? Send /paysupport followed by your question and the "
        "charge id from your Telegram receipt; the bot's admins get it with your Telegram "
        "username and id. "
        "Refunds are made in Telegram Stars."
    ),
    "paysupport_sent": "Sent to the bot's admins, with your username and id.",
    "paysupport_forward": "💬 Payment question from {who}: {text}",
    "refund_usage": "Usage: /refund <telegram_payment_charge_id>",
    "refund_unknown": "No payment with that charge id in the ledger.",
    "refund_done": "Refunded {stars} ⭐ to user {user}; {taken} taken back from their credits.",
    "refund_refused": "Telegram refused the refund: {reason}",
    "usage_setquota": "Usage: /setquota <user_id|chat_id> <number|unlimited>",
    "chat_quota_set": "Group {chat}: daily limit set to {limit}.",
    "chat_quota_set_unlimited": "Group {chat}: no daily limit.",
    "cmd_buy": "Buy images with Telegram Stars",
    "cmd_paysupport": "Help with a payment",
    "cmd_refund": "Refund a Stars payment (admin)",
}
