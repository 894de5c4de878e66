"""English messages. Keys must match ``ru.py`` exactly (a test checks)."""

MESSAGES: dict[str, str] = {
    # -- calendar ------------------------------------------------------------------------------
    "days.short": "Mon Tue Wed Thu Fri Sat Sun",
    "months.short": "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec",
    "day.today": "Today",
    "day.tomorrow": "Tomorrow",
    "plural.calls": "call|calls",
    "plural.balls": "ball|balls",
    # -- commands menu -------------------------------------------------------------------------
    "cmd.call": "Log a call",
    "cmd.nextstep": "Record a Next Step with a date",
    "cmd.today": "Today: calls, balls, meetings",
    "cmd.undo": "Undo the last entry",
    "cmd.cancel": "Leave the current question",
    "cmd.help": "All commands with examples",
    "cmd.start": "Welcome and the method",
    # -- start and help ------------------------------------------------------------------------
    "start": (
        "👋 Hi, {name}! I keep your calling discipline.\n\n"
        "🎾 Every call throws a ball. It <b>comes back</b> only when the contact agrees to a "
        "concrete <b>Next Step with a date</b> inside your sales cycle ({cycle} days): a meeting, "
        "a demo. “I'll think about it” and “call me next week” are polite no's: still a "
        "prospect.\n"
        "📞 Make {quota} calls a day in your calling block, log each one here, and the meetings "
        "come.\n\n"
        "Start now: <code>/call Ivan Petrov, Romashka LLC +7 912 345-67-89</code>\n"
        "Everything else: /help"
    ),
    "help": (
        "<b>Commands</b> (in this private chat; the team's are in its group: /help there)\n\n"
        "/call <i>name[, company] [phone][; note]</i>: log a call, then tap the outcome.\n"
        "  <code>/call Ivan Petrov, Romashka LLC +7 912 345-67-89</code>\n"
        "  <code>/call</code> alone: pick one of your recent contacts.\n"
        "  You can also share a contact from your phone's address book.\n\n"
        "/nextstep <i>name[; when; what]</i>: record a Next Step, I'll ask what is missing.\n"
        "  <code>/nextstep Ivan Petrov; tomorrow 3pm; demo at their office</code>\n"
        "  Dates: <code>tomorrow 15:00</code>, <code>fri 10:30</code>, "
        "<code>29.11 14:00</code>, <code>in 3 days</code>, <code>завтра 15:00</code>\n\n"
        "/today: calls against your quota, balls back, today's Next Steps.\n"
        "  <code>/today</code>\n"
        "/undo: remove your last call or Next Step (within 15 minutes).\n"
        "  <code>/undo</code>\n"
        "/cancel: leave the current question.\n"
        "  <code>/cancel</code>\n"
        "/start: the welcome and the method in short.\n"
        "  <code>/start</code>\n"
        "/help: this list.\n"
        "  <code>/help</code>"
    ),
    # -- /call ---------------------------------------------------------------------------------
    "call.logged": "📞 Call {n} of {quota} today: <b>{name}</b>{details}\nHow did it go?",
    "call.note": "📝 {note}",
    "call.again": "This message already logged a call to <b>{name}</b>: nothing was added.",
    "call.reopen": "📞 <b>{name}</b>: how did the call go?",
    "call.pick": "Who are you calling? Tap a contact, or type <code>/call name</code>.",
    "call.usage": (
        "Tell me who you are calling: <code>/call Ivan Petrov, Romashka LLC "
        "+7 912 345-67-89</code>\n(company, phone and a note after <code>;</code> are optional)"
    ),
    "contact.missing": "The contact's name is missing.",
    "contact.name_too_long": "That name is too long: 100 characters at most.",
    "contact.company_too_long": "That company name is too long: 100 characters at most.",
    "contact.note_too_long": "That note is too long: 1000 characters at most.",
    "contact.not_found": "I have no contact called <b>{name}</b> yet.",
    "group.ball": "🎾 Ball",
    "group.not_reached": "Not reached",
    "group.reached": "Reached, no Next Step",
    "group.hint.ball": "A concrete Next Step with a date: the ball comes back.",
    "group.hint.not_reached": "Nobody to talk to: the ball is still in your hand.",
    "group.hint.reached": "You talked, but no Next Step: still a prospect.",
    "outcome.ns": "🎾 Next Step agreed",
    "outcome.na": "No answer",
    "outcome.bz": "Busy",
    "outcome.vm": "Voicemail",
    "outcome.gk": "Gatekeeper",
    "outcome.wn": "Wrong number",
    "outcome.th": "“I'll think”",
    "outcome.cl": "“Call me later”",
    "outcome.bo": "“Ask my boss”",
    "outcome.si": "“Send info”",
    "outcome.ni": "Not interested",
    "result.line": "📞 <b>{name}</b>: {outcome}",
    "result.ball": "🎾 A Next Step is agreed: the ball came back.",
    "result.not_reached": "Not reached: try again later, the ball is still in your hand.",
    "result.wrong_number": "Wrong number: find the right one before the next try.",
    "result.polite_no": "A polite no: not a ball yet. {name} stays a prospect.",
    "result.not_interested": "Not interested. On to the next call!",
    "result.callback_ask": "When should you call back? Tap a date, type one, or skip.",
    "result.callback_set": "I'll put {name} back on your list on {day}.",
    "result.callback_skip": "No call-back date set.",
    "result.callback_retry": "Or /cancel to leave the call-back date unset.",
    "callback.days": "In {n} days",
    "callback.week": "In a week",
    "callback.two_weeks": "In 2 weeks",
    "callback.skip": "Skip",
    "result.already": "Already saved: {outcome}.",
    # -- Next Steps ----------------------------------------------------------------------------
    "ns.usage": (
        "Whose Next Step? <code>/nextstep Ivan Petrov</code>\n"
        "or in one line: <code>/nextstep Ivan Petrov; tomorrow 3pm; demo</code>"
    ),
    "ns.pick": "Whose Next Step? Tap a contact, or type <code>/nextstep name</code>.",
    "ns.ask_day": "🎯 Next Step with <b>{name}</b>: when? Tap a day or type a date and time.",
    "ns.ask_time": "🎯 <b>{name}</b>, {day}: what time? Tap one or type it (e.g. 15:30).",
    "ns.ask_action": (
        "🎯 <b>{name}</b>, {when}: what exactly will happen? Tap one or type it "
        "(e.g. <i>meeting at their office</i>)."
    ),
    "ns.past": "⏪ That moment has already passed: pick a date in the future.",
    "ns.beyond": (
        "📅 {when} is more than {cycle} days away, beyond your sales cycle. A Next Step that "
        "far out is a polite no: <b>{name}</b> is a prospect, not a client yet.\n"
        "Save it as a plain reminder, or pick a closer date?"
    ),
    "ns.save_reminder": "💾 Save as a reminder",
    "ns.other_date": "📅 Pick another date",
    "ns.action.mt": "Meeting",
    "ns.action.dm": "Demo",
    "ns.action.pr": "Proposal review",
    "ns.action.cl": "Call",
    "ns.action_short": "Say what will happen, e.g. <i>meeting at their office</i>.",
    "ns.action_long": "That is too long: 300 characters at most.",
    "ns.saved_ball": (
        "🎾 <b>The ball came back!</b> <b>{name}</b> is now a client.\n"
        "{action}, {when}.\nBalls today: {balls}."
    ),
    "ns.saved_reminder": "🗓 Reminder saved: {action} with <b>{name}</b>, {when}. Not a ball.",
    "ns.already": "This message already saved that Next Step: nothing was added.",
    "ns.cancel": "✖️ Cancel",
    "when.empty": "Type a date and time, e.g. <code>tomorrow 15:00</code>.",
    "when.unrecognised": (
        "I couldn't read that date. Try <code>tomorrow 15:00</code>, <code>fri 10:30</code>, "
        "<code>29.11 14:00</code> or <code>in 3 days</code>."
    ),
    "when.impossible_date": "There is no such date in the calendar. Check the day and month.",
    "when.impossible_time": "There is no such time: hours go 0-23, minutes 0-59.",
    # -- /today --------------------------------------------------------------------------------
    "today": (
        "📊 <b>{day}</b>\n"
        "📞 Calls: <b>{calls}</b> of {quota} {bar}\n"
        "🎾 Balls back: <b>{balls}</b>\n"
        "📐 Calls per ball: {ratio}\n"
        "💬 Polite no's: {polite}"
    ),
    "today.open": "⏳ Waiting for an outcome: {n}",
    "today.quota_met": "✅ Quota met. Every extra call is a bonus.",
    "today.left": "{n} to go.",
    "today.steps": "\n<b>Next Steps today</b> (make a short reminder call before each meeting):",
    "today.step": "• {time} {action} with <b>{name}</b>{company}",
    "today.no_steps": "\nNo Next Steps today.",
    "today.no_ratio": "no balls yet",
    # -- team: group, membership, settings ------------------------------------------------
    "plural.days": "day|days",
    "cmd.settings": "Your settings: time zone, calling block",
    "cmd.set": "Change your time zone or calling block",
    "gcmd.summary": "Today's team summary",
    "gcmd.leaderboard": "Leaderboard: day, week or month",
    "gcmd.join": "Join the team: your calls count here",
    "gcmd.leave": "Leave the team",
    "gcmd.settings": "The team's rules",
    "gcmd.set": "Change a team rule (admins)",
    "gcmd.setup": "Make this group a team (admins)",
    "gcmd.help": "What I do in this group",
    "team.hello": (
        "👋 Hi! I'm Ballback: I keep a sales team's calling discipline.\n\n"
        "1. A group admin sends /setup: this group becomes a team.\n"
        "2. Everyone who makes calls sends /join here.\n"
        "3. Calls and Next Steps are logged with me in private chat: {link}\n\n"
        "In this group I post only counts (calls, balls back, streaks), never a contact's "
        "name, company or phone."
    ),
    "team.help": (
        "<b>Ballback in {team}</b>\n\n"
        "/join: your calls count for this team · /leave: stop (your history stays)\n"
        "/summary: today's numbers, per member and for the team\n"
        "/leaderboard <i>day|week|month</i>: who brought balls back (week by default)\n"
        "/settings: the team's rules · /set <i>key value</i>: change one (admins)\n"
        "/setup: make this group a team (admins)\n\n"
        "Calls and Next Steps are logged in private chat with me, never here."
    ),
    "team.group_only": (
        "That works in your team's group chat. Add me to the group; an admin sends /setup "
        "there, then everyone sends /join."
    ),
    "team.admin_unknown": "I couldn't check who is an admin here just now. Please try again.",
    "team.setup_refused": (
        "Only a group admin can make this group a team. Ask an admin to send /setup."
    ),
    "team.already": "<b>{team}</b> is already a team. /settings shows its rules.",
    "team.created": (
        "✅ <b>{team}</b> is now a team. Everyone who makes calls: send /join. "
        "Admins change the rules with /set."
    ),
    "team.resumed": (
        "👋 I'm back: <b>{team}</b> is a team again, with its members and history. "
        "/summary shows today."
    ),
    "team.not_a_team": "This group is not a team yet: a group admin sends /setup first.",
    "team.join_anonymous": (
        "I can't tell who you are when you post as the group or a channel: send it as yourself."
    ),
    "team.join_already": "{name}, you are already in the team.",
    "team.joined": (
        "✅ {name} joined <b>{team}</b>: your calls count here from now on. "
        "Log them with me in private chat: {link}"
    ),
    "team.joined_several": (
        "You are in {n} other team(s) too: your quota and hours follow the team you joined "
        "last (this one)."
    ),
    "team.left": "👋 {name} left the team. Their history stays.",
    "team.not_member": "{name}, you are not in this team. /join adds you.",
    "setting.quota": "Quota",
    "setting.goal": "Goal",
    "setting.cycle": "Sales cycle",
    "setting.block": "Calling block",
    "setting.summary": "Daily summary",
    "setting.tz": "Time zone",
    "setting.workdays": "Working days",
    "setting.lang": "Language",
    "settings.team_head": "⚙️ <b>Rules of {team}</b>",
    "settings.line": "• {label}: <b>{value}</b>  <code>{key}</code>",
    "settings.team_foot": "Admins change one with <code>/set key value</code>, e.g. "
    "<code>/set quota 25</code>.",
    "settings.mine_head": "⚙️ <b>Your settings</b> (you are not in a team: defaults apply)",
    "settings.mine_head_team": "⚙️ <b>Your settings</b> (team <b>{team}</b>)",
    "settings.mine_several": ("You are in {n} teams: the rules come from the one you joined last."),
    "settings.mine_line": "• {label}: <b>{value}</b> ({source})",
    "settings.source_mine": "yours",
    "settings.source_team": "team",
    "settings.source_default": "default",
    "settings.mine_foot": (
        "Yours to change: <code>/set tz Asia/Novosibirsk</code>, "
        "<code>/set block 09:00-10:00</code>; back to the team's: <code>/set tz team</code>."
    ),
    "settings.every_day": "every day",
    "settings.not_set": "not set",
    "settings.off": "off",
    "settings.zone": "{zone} (now {time} there)",
    "settings.lang_ru": "Russian",
    "settings.lang_en": "English",
    "settings.lang_auto": "auto (each member's Telegram language)",
    "set.usage": (
        "<b>Team settings</b> (admins): <code>/set key value</code>\n"
        "<code>/set quota 25</code>: calls per working day (1-500)\n"
        "<code>/set goal 2</code>: balls per day (1-100)\n"
        "<code>/set cycle 45</code>: sales cycle in days (1-365)\n"
        "<code>/set block 10:00-11:00</code>: daily calling block (<code>off</code> removes it)\n"
        "<code>/set summary 18:30</code>: time of the daily summary (<code>off</code>: none)\n"
        "<code>/set tz Asia/Yekaterinburg</code>: time zone (a city or UTC+5 works too)\n"
        "<code>/set workdays mon-fri</code>: working days\n"
        "<code>/set lang ru</code>: ru, en or auto\n"
        "<code>/set dayoff 2026-12-31</code>, <code>/set workday 2027-01-09</code>: the team's "
        "own day off or working day (<code>-2026-12-31</code> removes it)"
    ),
    "set.private_usage": (
        "Here you can set your own:\n"
        "<code>/set tz Asia/Novosibirsk</code>: your time zone (a city or UTC+7 works too)\n"
        "<code>/set block 09:00-10:00</code>: your calling block\n"
        "<code>/set tz team</code>, <code>/set block team</code>: back to the team's.\n"
        "/settings shows what applies to you."
    ),
    "set.unknown": "There is no setting <code>{key}</code>.",
    "set.refused": (
        "Only a group admin can change the team's rules. /settings shows them to everyone."
    ),
    "set.team_only": (
        "<code>{key}</code> is a team setting: ask an admin to change it in the group. "
        "Here you can set your own time zone and calling block."
    ),
    "set.range": "{label} is a whole number from {low} to {high}.",
    "set.missing": "The value is missing.",
    "set.bad_time": "Write the time as hours:minutes, or <code>off</code>.",
    "set.bad_block": "Write the block as start-end, or <code>off</code>.",
    "set.block_order": "The block must end after it starts, on the same day.",
    "set.bad_zone": (
        "I don't know that time zone. A city (<code>Екатеринбург</code>, "
        "<code>Novosibirsk</code>), a zone name (<code>Asia/Yekaterinburg</code>) or an offset "
        "(<code>UTC+5</code>) works."
    ),
    "set.odd_offset": (
        "Only whole hours work as an offset; for others use the zone name, e.g. "
        "<code>Asia/Kolkata</code>."
    ),
    "set.bad_workdays": "Write working days like <code>mon-fri</code> or <code>mon,wed,fri</code>.",
    "set.bad_lang": "The language is <code>ru</code>, <code>en</code> or <code>auto</code>.",
    "set.example": "For example: <code>/set {key} {example}</code>",
    "set.done": "✅ {label}: <b>{value}</b>",
    "set.mine_done": "✅ Your {label}: <b>{value}</b>",
    "set.mine_reset": "✅ You follow the team again. {label}: <b>{value}</b>",
    # -- team: summary and leaderboard -----------------------------------------------------
    "report.no_ratio": "—",
    "summary.head": "📊 <b>{team}</b> · {day}",
    "summary.no_members": "Nobody has joined the team yet: members send /join.",
    "summary.calls": "📞 Calls: <b>{calls}</b> of {quota}",
    "summary.calls_off": "📞 Calls: <b>{calls}</b> (a day off)",
    "summary.balls": "🎾 Balls back: <b>{balls}</b> (goal {goal})",
    "summary.ratio": "📐 Calls per ball: {ratio}",
    "summary.polite": "💬 Polite no's: {n}",
    "summary.quota_met": "✅ Quota met: {n} of {total}",
    "summary.block": "⏰ Called in their calling block: {n} of {total}",
    "summary.kept": "🤝 Kept commitments: {rate}% ({done} of {due})",
    "summary.kept_none": "🤝 Kept commitments: no Next Steps came due",
    "summary.best_streak": "🔥 Longest quota streak: {n} (working days), {names}",
    "summary.members": "<b>Members</b>",
    "summary.member": (
        "{rank}. <b>{name}</b>: 📞 {calls}/{quota} · 🎾 {balls} · 📐 {ratio} · 💬 {polite}{extras}"
    ),
    "summary.members_more": (
        "…and {n} more who logged something: /leaderboard day shows your place."
    ),
    "summary.silent": "😴 Nothing logged yet today ({n}):",
    "summary.names": "{names}",
    "summary.silent_more": "…and {n} more.",
    "summary.legend": (
        "<i>📞 calls/quota · 🎾 balls back · 📐 calls per ball · 💬 polite no's · "
        "🤝 kept Next Steps · ⏰ called in the block · 🔥 quota streak</i>"
    ),
    "board.day": "Today",
    "board.week": "This week",
    "board.month": "This month",
    "board.head": "🏆 <b>{team}</b> · {period} ({span})",
    "board.line": "{place} <b>{name}</b>: 🎾 {balls} · 📐 {ratio} · 📞 {calls}",
    "board.empty": "Nobody has logged a call yet. The first call puts you on the board.",
    "board.count": "On the board: {ranked} of {members}.",
    "board.not_yet": "{n} without a call yet: one call puts you on the board.",
    "board.you_not_yet": "You are not on the board yet: log a call and you are.",
    "board.usage": (
        "<code>/leaderboard</code> shows this week; also <code>/leaderboard day</code> or "
        "<code>/leaderboard month</code>."
    ),
    "chart.title": "{team}: calls and balls per day, {span}",
    "chart.note": (
        "Number: calls · ● balls back · colour: share of the quota ({quota}) · "
        "top {shown} of {ranked}"
    ),
    "chart.caption": "📈 <b>{team}</b>: the week, calls and balls per member per day",
    # -- undo and cancel -----------------------------------------------------------------------
    "undo.confirm_call": "Remove your call to <b>{name}</b> at {time}{detail}?",
    "undo.confirm_step": "Remove the Next Step <i>{detail}</i> with <b>{name}</b>?",
    "undo.yes": "🗑 Yes, remove it",
    "undo.no": "Keep it",
    "undo.nothing": "Nothing to undo: only entries from the last 15 minutes can be removed.",
    "undo.done": "🗑 Removed.",
    "undo.kept": "Kept, nothing changed.",
    "undo.gone": "That entry is already gone or too old to undo.",
    "cancel.done": "OK, left that question. Nothing was saved from it.",
    "cancel.nothing": "There is nothing to cancel. /help lists what I can do.",
    # -- pipeline and the contact card ---------------------------------------------------------
    "cmd.pipeline": "Clients, prospects due, whom to stop chasing",
    "cmd.contact": "A contact's card and history",
    "help.personal": (
        "<b>Your own rules</b>\n\n"
        "/settings: the quota, cycle, calling block and time zone that apply to you.\n"
        "  <code>/settings</code>\n"
        "/set: your own time zone or calling block, when you sit in another city.\n"
        "  <code>/set tz Asia/Novosibirsk</code>, <code>/set block 09:00-10:00</code>"
    ),
    "help.pipeline": (
        "<b>Your pipeline</b>\n\n"
        "/pipeline: your clients, the prospects due for a call, and whom to stop chasing.\n"
        "  <code>/pipeline</code>\n"
        "/contact <i>name or phone</i>: a contact's card with every call and Next Step.\n"
        "  <code>/contact Petrov</code>\n"
        "/list: today's call sheet to print (PDF), and the same list as CSV.\n"
        "  <code>/list</code>"
    ),
    "pl.title": "📈 <b>Your pipeline</b>",
    "pl.counts": (
        "🎾 Clients: <b>{clients}</b> · 📞 Due for a call: <b>{due}</b> · "
        "🛑 Stop chasing: <b>{stop}</b>"
    ),
    "pl.head.c": "<b>🎾 Clients</b>, the soonest Next Step first{page}:",
    "pl.head.p": "<b>📞 Due for a call</b>, call-backs first, then the never called{page}:",
    "pl.head.s": "<b>🛑 Stop chasing</b>{page}:",
    "pl.page": " (page {page} of {pages})",
    "pl.empty.c": (
        "No clients right now. A contact becomes one when they agree to a Next Step with a "
        "date inside your {cycle}-day cycle."
    ),
    "pl.empty.p": (
        "Nobody is due for a call. /call someone new, or send me a list of contacts "
        "to import (.csv, .xlsx or .vcf)."
    ),
    "pl.empty.s": "Nobody to stop chasing. 👍",
    "pl.stop.method": (
        "<i>Called 4 times or more in {cycle} days and never threw the ball back. Most people "
        "you call are prospects: stop spending your best hours on these and call someone "
        "new.</i>"
    ),
    "pl.row.client": "{n}. <b>{name}</b>{company}: {action}, {when}",
    "pl.row.callback": "{n}. <b>{name}</b>{company}: call back since {day}",
    "pl.row.new": "{n}. <b>{name}</b>{company}: never called",
    "pl.row.stop": "{n}. <b>{name}</b>{company}: {calls} without a ball, the last {day}",
    "pl.tab.c": "🎾 Clients {n}",
    "pl.tab.p": "📞 Due {n}",
    "pl.tab.s": "🛑 Stop {n}",
    "pl.no_page": "That page is not there any more: the list has changed. Send /pipeline again.",
    "cmd.list": "Today's call sheet to print (PDF and CSV)",
    "pl.sheet": "📋 Call sheet",
    "sheet.title": "Call sheet: {name}",
    "sheet.subtitle": "{day} · quota: {quota} · {n} to call",
    "sheet.hint": (
        "Tick “Called” for every dial and “Ball” when they agree to a Next Step with a date "
        "inside your cycle. Log each call in the bot as you go: /call or the contact's card."
    ),
    "sheet.tally": "Calls:",
    "sheet.col.n": "#",
    "sheet.col.name": "Name",
    "sheet.col.company": "Company",
    "sheet.col.phone": "Phone",
    "sheet.col.last": "Last outcome",
    "sheet.col.called": "Called",
    "sheet.col.ball": "Ball",
    "sheet.col.notes": "Notes",
    "sheet.footer": "Ballback · page {page} of {pages}",
    "sheet.caption": (
        "📋 Your call sheet for {day}: {n} to call. Print it before your calling block, tick "
        "the boxes as you go, and log every call here."
    ),
    "sheet.more": "It has the first {shown} of the {total} due.",
    "sheet.csv_caption": "The same list as CSV, for Excel.",
    "sheet.empty": (
        "Nobody is due for a call, so there is no sheet today. /call someone new, or send me a "
        "list of contacts to import (.csv, .xlsx or .vcf)."
    ),
    "contact.usage": (
        "Whose card? <code>/contact Ivan Petrov</code> (part of the name or the phone is enough)."
    ),
    "contact.pick": "Several contacts match. Which one?",
    "contact.none": (
        "No contact matches <b>{query}</b>. Try part of the name or the phone, or see your "
        "lists in /pipeline."
    ),
    "card.title": "👤 <b>{name}</b>",
    "card.company": "🏢 {company}",
    "card.phone": "📞 {phone}",
    "card.client": "🎾 Client: {action}, {when}",
    "card.prospect": "📇 Prospect: no Next Step with a date inside your cycle",
    "card.stop": "🛑 Stop chasing: {calls} in {cycle} days without a ball back",
    "card.callback": "⏰ Call back: {day}",
    "card.archived": "🗄 Archived: left out of /pipeline and the call sheet",
    "card.note": "📝 {note}",
    "card.steps": "\n<b>Next Steps</b> ({n})",
    "card.step": "• {created}: {action}, {when} ({status})",
    "card.no_steps": "\nNo Next Steps yet.",
    "card.calls": "\n<b>Calls</b> ({n})",
    "card.call": "• {when}: {outcome}{note}",
    "card.no_calls": "\nNo calls yet.",
    "card.no_outcome": "no outcome yet",
    "card.older": "… and {n} older",
    "step.open": "open",
    "step.lapsed": "lapsed",
    "step.done": "done",
    "step.dropped": "dropped",
    "step.rescheduled": "rescheduled",
    "step.reminder": "reminder",
    "card.log_call": "📞 Log a call",
    "card.next_step": "🎯 Next Step",
    "card.edit_phone": "✏️ Phone",
    "card.edit_company": "✏️ Company",
    "card.archive": "🗄 Archive",
    "card.restore": "♻️ Restore",
    "card.ask_phone": (
        "📞 Send the new phone number for <b>{name}</b>, e.g. <code>+7 912 345-67-89</code>, "
        "or <code>-</code> to remove it. /cancel keeps it as it is."
    ),
    "card.ask_company": (
        "🏢 Send the company for <b>{name}</b>, or <code>-</code> to remove it. /cancel keeps "
        "it as it is."
    ),
    "card.bad_phone": (
        "I couldn't read that phone number. Send it like <code>+7 912 345-67-89</code> or "
        "<code>8 912 345-67-89</code>, <code>-</code> to remove it, or /cancel."
    ),
    "card.bad_company": (
        "Send the company's name (100 characters at most), <code>-</code> to remove it, or /cancel."
    ),
    "card.saved": "✅ Saved.",
    "card.archived_done": "🗄 Archived: {name} is out of your lists.",
    "card.restored": "♻️ {name} is back in your pipeline.",
    "card.call_again": "This card already logged a call. Open a fresh one with /contact.",
    # -- import and export ----------------------------------------------------------------------
    "help.transfer": (
        "<b>Your contacts in and out</b>\n\n"
        "Send me a <b>.csv</b> or <b>.xlsx</b> file to import contacts: a header row "
        "(<code>Name; Phone; Company; Note</code>, or in Russian) and one contact per row; only "
        "the name is required. Duplicates (the same phone, or the same name and company) "
        "merge. Contacts exported from a phone, Google or Outlook as a <b>.vcf</b> file import "
        "too.\n"
        "/import: how importing works; when I ask which column is which, I remember your "
        "answer.\n"
        "  <code>/import reset</code> forgets those answers\n"
        "/export: your contacts, calls and Next Steps as CSV files for Excel.\n"
        "  <code>/export</code>, or <code>/export team</code> for a team's admin\n"
        "/forget: delete everything I store about you (I ask first).\n"
        "  <code>/forget</code>"
    ),
    "import.done": "📥 <b>{file}</b>: import done.",
    "import.created": "➕ New contacts: <b>{n}</b>",
    "import.merged": "🔁 Merged with ones you had or repeated in the file: <b>{n}</b>",
    "import.rejected": "⚠️ Rows left out: <b>{n}</b>",
    "import.rejected_row": "• row {line}: {why}",
    "import.more": "… and {n} more",
    "import.why.no_name": "no name",
    "import.why.name_too_long": "the name is over 100 characters",
    "import.why.company_too_long": "the company is over 100 characters",
    "import.why.note_too_long": "the note is over 1000 characters",
    "import.why.bad_phone": "no phone number in “{value}”",
    "import.why.name_taken": (
        "you already have another “{value}”: add a company or a phone to tell them apart"
    ),
    "import.why.unreadable": "this contact is damaged and I couldn't read it",
    "import.nothing": "Nothing was imported. Fix those rows and send the file again.",
    "import.next": (
        "Fix any rows left out and send the file again: what is already here merges, nothing "
        "doubles. Your prospects are in /pipeline, and /list prints the call sheet."
    ),
    "import.not_a_table": (
        "I can import contacts from a table: a <b>.csv</b> or <b>.xlsx</b> file with a header "
        "row (<code>Name; Phone; Company; Note</code>, or in Russian) and one contact per row. "
        "Or from a <b>.vcf</b> file of contacts exported from a phone, Google or Outlook. This "
        "file is neither, so nothing was imported."
    ),
    "import.old_excel": (
        "That is the old Excel format (.xls). Save it as .xlsx or CSV in Excel and send it "
        "again. Nothing was imported."
    ),
    "import.too_big": (
        "That file is over {mb} MB. Split it into smaller files and send them one by one. "
        "Nothing was imported."
    ),
    "import.too_many_rows": (
        "That file has more than {rows} rows. Split it and send the parts one by one: what is "
        "already here merges, nothing doubles. Nothing was imported."
    ),
    "import.too_many_cards": (
        "That file has more than {rows} contacts. Split it and send the parts one by one: what "
        "is already here merges, nothing doubles. Nothing was imported."
    ),
    "import.not_a_vcard": (
        "I couldn't read a single contact in this .vcf file: it seems damaged, or it is not a "
        "vCard. Export the contacts again (from your phone's Contacts app, Google Contacts or "
        "Outlook) and send me the new file. Nothing was imported."
    ),
    "import.no_named_cards": (
        "None of the contacts in this .vcf file has a name, so nothing was imported. Each "
        "contact needs at least a name: add the names in your address book, export the "
        "contacts again and send me the new file."
    ),
    "import.empty": (
        "That file has no contacts in it. Put a header row (<code>Name; Phone; Company; "
        "Note</code>) and one contact per row."
    ),
    "import.no_name_column": (
        "I couldn't find a name column, so nothing was imported. The first row should be "
        "headers such as <code>Name; Phone; Company; Note</code> (or <code>Имя; Телефон; "
        "Компания; Примечание</code>)."
    ),
    "import.download_failed": (
        "I couldn't download that file from Telegram. Please send it again. Nothing was imported."
    ),
    "import.map.intro": (
        "📋 <b>{file}</b>: I don't recognise these columns. Tell me which is which, and I'll "
        "remember it for files with the same headers.\n\n{columns}"
    ),
    "import.map.ask_name": (
        "Which column holds the contact's <b>name</b>? If the first and last names are in "
        "columns of their own, tap “First and last name apart”."
    ),
    "import.map.ask_first": "Which column holds the <b>first name</b>?",
    "import.map.ask_last": "And the <b>last name</b>?",
    "import.map.ask_phone": "Which column holds the <b>phone</b>?",
    "import.map.ask_company": "Which column holds the <b>company</b>?",
    "import.map.ask_note": "Which column goes into the contact's <b>note</b>?",
    "import.map.split": "✂️ First and last name apart",
    "import.map.no_last": "No last name",
    "import.map.no_phone": "No phone",
    "import.map.skip": "Skip",
    "import.map.busy": (
        "First answer the question about the columns of <b>{file}</b>, or /cancel it; then send "
        "this file again. Nothing of it was imported."
    ),
    "import.map.typed": (
        "Tap a button under the question about the columns of <b>{file}</b>, or /cancel it."
    ),
    "import.map.saved": (
        "🗂 Columns read the way you chose for files with these headers (/import reset forgets "
        "that)."
    ),
    "import.about": (
        "📥 To import contacts, send me a <b>.csv</b>, <b>.xlsx</b> or <b>.vcf</b> file. When I "
        "don't recognise a table's columns, I ask which is which and remember your answer for "
        "files with the same headers.\n"
        "<code>/import reset</code> forgets those answers, and I ask again."
    ),
    "import.reset_done": "Done: I forgot the column choices you saved. Next time I'll ask again.",
    "import.reset_none": (
        "You have no saved column choices. I save one when you tell me which column is which."
    ),
    "cmd.import": "How to import; /import reset forgets column choices",
    "cmd.export": "Download your contacts, calls and Next Steps",
    "cmd.forget": "Delete everything I store about you",
    "plural.contacts": "contact|contacts",
    "plural.steps": "Next Step|Next Steps",
    "export.caption": (
        "📤 Your data: {contacts}, {calls}, {steps}. Three CSV files that Excel opens as they "
        "are. contacts.csv can be sent back to me to import."
    ),
    "export.not_admin": (
        "<code>/export team</code> is for a team's group administrators: I found no team "
        "whose group has you as an admin. <code>/export</code> alone sends your own data."
    ),
    "export.nothing": (
        "You have no contacts yet, so there is nothing to export. /call someone, or send me a "
        "list of contacts (.csv, .xlsx or .vcf)."
    ),
    "export.col.rep": "Rep",
    "export.col.name": "Name",
    "export.col.company": "Company",
    "export.col.phone": "Phone",
    "export.col.note": "Note",
    "export.col.status": "Status",
    "export.col.callback": "Call back",
    "export.col.archived": "Archived",
    "export.col.added": "Added",
    "export.col.date": "Date",
    "export.col.outcome": "Outcome",
    "export.col.created": "Agreed",
    "export.col.due": "Due",
    "export.col.action": "Action",
    "export.col.kind": "Kind",
    "export.col.step_status": "State",
    "export.client": "client",
    "export.prospect": "prospect",
    "export.yes": "yes",
    "export.kind.ball": "ball",
    "export.kind.reminder": "reminder",
    "forget.confirm": (
        "⚠️ This deletes everything I store about you: {contacts}, {calls}, {steps}, your "
        "settings and your team membership. It cannot be undone, and team summaries will no "
        "longer show you.\nTo keep a copy, /export first."
    ),
    "forget.yes": "🗑 Yes, delete everything",
    "forget.no": "Keep my data",
    "forget.done": (
        "🗑 Done: everything I stored about you is deleted. If you write to me again, we start "
        "from scratch."
    ),
    "forget.kept": "Kept: nothing was deleted.",
    "forget.expired": (
        "This confirmation is too old. Send /forget again if you still want to delete your data."
    ),
    # -- misc ----------------------------------------------------------------------------------
    "hint": (
        "I log calls and Next Steps. Try <code>/call Ivan Petrov</code> or /today. "
        "All commands: /help"
    ),
    "unknown": "I don't know that command. /help lists what I can do.",
    "edited": (
        "Editing a message doesn't change what I saved. To fix an entry, /undo it and send it "
        "again."
    ),
    "private_only": (
        "That works in a private chat with me, so that contacts' details stay out of the "
        "group: {link}"
    ),
    "private_only.link": "open the chat",
    "button.not_yours": "This button belongs to someone else.",
    "button.stale": "This button is out of date. Start again with /call or /nextstep.",
    "error": "😕 Something went wrong on my side. Nothing you saved was lost; please try again.",
    # -- the daily rhythm: nudges, pace, quota, lapsed Next Steps, days away ------------------
    "cmd.nudges": "Reminders on or off",
    "cmd.away": "Days away: no reminders",
    "help.rhythm": (
        "<b>Reminders</b>\n\n"
        "On working days I write to you 15 minutes before your calling block, halfway through "
        "it if you are behind, at its end if the quota is not met, and the morning after a "
        "Next Step's date to ask whether it happened.\n"
        "/nudges <i>on|off</i>: turn the reminders on or off.\n"
        "  <code>/nudges off</code>\n"
        "/away <i>dates</i>: days away (vacation, sick leave): no reminders, and those days don't "
        "count against your quota or break your streak; <code>/away off</code>: back today.\n"
        "  <code>/away 01.12-10.12</code>"
    ),
    "day.yesterday": "Yesterday",
    "nudge.head": (
        "⏰ <b>{start}–{end}: your calling block, {calls}</b>\nAn appointment with yourself."
    ),
    "nudge.before": "📊 {day}: {calls}, {balls} back.",
    "nudge.more_steps": "…and {n} more: /today lists them all.",
    "nudge.prospects": "\n📞 <b>Start with</b> (tap one to log the call):",
    "nudge.no_prospects": (
        "\n📞 No prospects due for a call: add some with /call or send me a .csv file."
    ),
    "nudge.snooze": "😴 Not today",
    "nudge.snoozed": "😴 Snoozed: no more reminders about the calling block today.",
    "nudge.snooze_over": "That day is over: nothing to snooze.",
    "pace.behind": (
        "⏱ <b>Halfway through your calling block</b>: {calls} of {quota} calls so far. "
        "{left} to go by {end}."
    ),
    "quota.left": (
        "📞 <b>Your calling block is over</b>: {calls} of {quota} calls today. "
        "{left} left to meet the quota."
    ),
    "lapsed.ask": "🤝 <b>Did it happen?</b>\n{action} with <b>{name}</b>{company}, {when}",
    "lapsed.done": "✅ Done",
    "lapsed.reschedule": "📅 Reschedule",
    "lapsed.dropped": "✖️ Dropped",
    "lapsed.saved_done": "✅ Kept: {action} with <b>{name}</b>. Well done.",
    "lapsed.saved_dropped": (
        "✖️ Dropped: {action} with <b>{name}</b>. {name} is a prospect again and back on your "
        "call list."
    ),
    "lapsed.already": "Already answered: {status}.",
    "nudges.on": (
        "🔔 Reminders are <b>on</b>: a nudge 15 minutes before your calling block, a pace "
        "check halfway through it, a reminder if the quota is not met at its end, and a "
        "question about each Next Step whose date has passed.\n"
        "<code>/nudges off</code> turns them off."
    ),
    "nudges.off": "🔕 Reminders are <b>off</b>. <code>/nudges on</code> turns them back on.",
    "nudges.no_team": "They come once you are in a team: send /join in your team's group.",
    "nudges.no_block": (
        "You have no calling block yet, so only the questions about past Next Steps come: "
        "<code>/set block 10:00-11:00</code> sets yours."
    ),
    "nudges.usage": "Write <code>/nudges on</code> or <code>/nudges off</code>.",
    "away.set": (
        "🏖 Away {span}: no reminders, and these days don't count against your quota or break "
        "your streak. <code>/away off</code> if you are back earlier."
    ),
    "away.list": "🏖 <b>Your days away</b>\n{ranges}\n<code>/away off</code> ends them today.",
    "away.none": (
        "You have no days away. <code>/away 01.12-10.12</code> marks some: no reminders, and "
        "those days don't count against your quota or streak."
    ),
    "away.back": "👋 Welcome back: reminders are on again from today.",
    "away.not_away": "You are not away: nothing to end.",
    "away.usage": (
        "Write the dates like <code>/away 01.12-10.12</code> or "
        "<code>/away 01.12.2026-10.12.2026</code>; one day: <code>/away 01.12</code>; "
        "back today: <code>/away off</code>."
    ),
    "dates.unreadable": "I couldn't read the date.",
    "dates.no_such_day": "There is no such date.",
    "dates.order": "It ends before it starts.",
    "dates.too_long": "It can be at most a year long.",
    "dates.past": "That is more than a month ago: nothing to mark.",
    "set.dayoff_done": "✅ {day} is a day off for the team: no reminders and no summary.",
    "set.workday_done": "✅ {day} is a working day for the team.",
    "set.day_removed": "✅ {day} follows the usual calendar again.",
    "set.day_unchanged": "{day} is like that already.",
    "set.day_usage": (
        "Write a date: <code>/set dayoff 2026-12-31</code>, <code>/set workday 09.01.2027</code>; "
        "<code>/set dayoff -2026-12-31</code> removes it."
    ),
    "settings.days_off": "• Extra days off: <b>{days}</b>  <code>dayoff</code>",
    "settings.days_on": "• Extra working days: <b>{days}</b>  <code>workday</code>",
    "summary.away": "🏖 Away today ({n}): {names}",
}
