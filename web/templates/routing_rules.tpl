% # The routing rules (docs/routing.md): included by routing.tpl, forms of smsd/web/routing_rules.py.
<h2 id="outbound">Outbound: which ports send to which numbers</h2>
<p class="muted">The first rule whose number prefix, user and front end match a recipient decides the ports its message may use: its port groups in order, the next one only while no port of the one before can send. A rule never widens what a request or a user may use. No rule matching: any port, as the request says.</p>

<h3>Port groups</h3>
% if groups:
<table class="groups" id="groups">
  <thead><tr><th>Name</th><th>Ports</th><th>Used by rules</th><th></th></tr></thead>
  <tbody>
% for g in groups:
  <tr id="group-{{g.name}}">
    <td>{{g.name}}</td>
    <td>{{', '.join(str(p + 1) for p in g.ports)}}</td>
    <td>{{', '.join(str(r) for r in g.used_by) or 'none'}}</td>
    <td>
      <form method="post" action="/routing/group/delete" class="inline">
        <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="name" value="{{g.name}}">
        <button type="submit">Delete</button>
      </form>
    </td>
  </tr>
% end
  </tbody>
</table>
% else:
<p class="muted">No port groups yet.</p>
% end
<form class="group-save" method="post" action="/routing/group">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <label>Group name <input name="group_name" value="{{rule_entered.get('group_name', '')}}" maxlength="40">
% include('field_error.tpl', name='group_name')
  </label>
  <fieldset><legend>Ports</legend>
% chosen = rule_entered.get('group_ports', [])
% for p in ports:
    <label class="check"><input type="checkbox" name="group_ports" value="{{p}}"{{!' checked' if str(p) in chosen else ''}}> port {{p + 1}}</label>
% end
% include('field_error.tpl', name='group_ports')
  </fieldset>
  <button type="submit">Save group</button>
</form>

<h3>Outbound rules, in order</h3>
% if rules:
<table class="rules" id="rules">
  <thead><tr><th>#</th><th>Id</th><th>Number starts with</th><th>User</th><th>Front end</th><th>Port groups and connections, in fall-back order</th><th></th></tr></thead>
  <tbody>
% for i, r in enumerate(rules):
  <tr id="rule-{{r.id}}">
    <td>{{i + 1}}</td>
    <td>{{r.id}}</td>
    <td>{{r.prefix or 'any'}}</td>
    <td>{{r.user or 'any'}}</td>
    <td>{{dialect_names.get(r.dialect, r.dialect) if r.dialect else 'any'}}</td>
    <td>{{' then '.join(('connection ' + t.name) if t.key.startswith('conn:') else t.name for t in r.targets)}}</td>
    <td>
% for to, label in (('up', 'Up'), ('down', 'Down')):
      <form method="post" action="/routing/rule/move" class="inline">
        <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="id" value="{{r.id}}"><input type="hidden" name="to" value="{{to}}">
        <button type="submit">{{label}}</button>
      </form>
% end
      <form method="post" action="/routing/rule/delete" class="inline">
        <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="id" value="{{r.id}}">
        <button type="submit">Delete</button>
      </form>
    </td>
  </tr>
% end
  </tbody>
</table>
% else:
<p class="muted">No outbound rules: every message may use any port its request allows.</p>
% end
<form class="rule-add" method="post" action="/routing/rule">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <label>Number starts with <input name="prefix" value="{{rule_entered.get('prefix', '')}}" placeholder="+44" size="12">
% include('field_error.tpl', name='prefix')
  </label>
  <label>User <select name="rule_user">
    <option value="">any</option>
% for u in users:
    <option value="{{u}}"{{!' selected' if u == rule_entered.get('rule_user') else ''}}>{{u}}</option>
% end
  </select>
% include('field_error.tpl', name='rule_user')
  </label>
  <label>Front end <select name="dialect">
    <option value="">any</option>
% for d in dialects:
    <option value="{{d}}"{{!' selected' if d == rule_entered.get('dialect') else ''}}>{{dialect_names.get(d, d)}}</option>
% end
  </select>
% include('field_error.tpl', name='dialect')
  </label>
% for i in range(1, 4):
  <label>{{'Port group or connection' if i == 1 else 'then, while it cannot send'}} <select name="target{{i}}">
    <option value="">{{'choose' if i == 1 else 'none'}}</option>
% for g in groups:
    <option value="{{g.name}}"{{!' selected' if g.name == rule_entered.get('target%d' % i) else ''}}>{{g.name}}</option>
% end
% for c in connections:
    <option value="conn:{{c}}"{{!' selected' if 'conn:' + c == rule_entered.get('target%d' % i) else ''}}>connection {{c}}</option>
% end
  </select></label>
% end
% include('field_error.tpl', name='targets')
  <button type="submit">Add rule</button>
</form>

<h3 id="which">Which route would this number take?</h3>
<form class="which" method="post" action="/routing/which#which">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <label>Number <input name="which_number" value="{{rule_entered.get('which_number', '')}}" placeholder="+447700900123">
% include('field_error.tpl', name='which_number')
  </label>
  <label>User <select name="which_user">
    <option value="">any</option>
% for u in users:
    <option value="{{u}}"{{!' selected' if u == rule_entered.get('which_user') else ''}}>{{u}}</option>
% end
  </select></label>
  <label>Front end <select name="which_dialect">
    <option value="">any</option>
% for d in dialects:
    <option value="{{d}}"{{!' selected' if d == rule_entered.get('which_dialect') else ''}}>{{dialect_names.get(d, d)}}</option>
% end
  </select>
% include('field_error.tpl', name='which_dialect')
  </label>
  <button type="submit">Test</button>
</form>
% if which_answer is not None:
<section class="card" id="which-answer" role="status">
  <p class="{{'error' if which_answer['refused'] else 'ok'}}">{{which_answer['number']}}: {{which_answer['route']}}</p>
% if which_answer['now']:
  <p>{{which_answer['now']}}</p>
% end
</section>
% end

<h2 id="forward">Inbound: forward as SMS</h2>
<p class="muted">A received SMS that matches a rule is sent on, as SMS, to the rule's numbers, its text starting "Fwd from &lt;sender&gt;: ". The forward is queued as the rule's user (their credits, the ports' limits, their outbox). Never forwarded: a forward's own copy arriving back, more than the rule's number per sender per hour, to the sender or to the receiving port's own number.</p>
% if forwards:
<table class="forwards" id="forwards">
  <thead><tr><th>Id</th><th>Received on port</th><th>Sender starts with</th><th>First word</th><th>Forward to</th><th>Queued as</th><th>Per sender per hour</th><th></th></tr></thead>
  <tbody>
% for f in forwards:
  <tr id="forward-{{f.id}}">
    <td>{{f.id}}</td>
    <td>{{'any' if f.port is None else f.port + 1}}</td>
    <td>{{f.sender_prefix or 'any'}}</td>
    <td>{{f.keyword or 'any'}}</td>
    <td>{{', '.join(f.numbers)}}</td>
    <td>{{f.owner}}</td>
    <td>{{f.max_per_hour}}</td>
    <td>
      <form method="post" action="/routing/forward/delete" class="inline">
        <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="id" value="{{f.id}}">
        <button type="submit">Delete</button>
      </form>
    </td>
  </tr>
% end
  </tbody>
</table>
% else:
<p class="muted">No forward rules.</p>
% end
<form class="forward-add" method="post" action="/routing/forward">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <label>Forward to (numbers, comma separated) <input name="fwd_numbers" value="{{rule_entered.get('fwd_numbers', '')}}" size="40">
% include('field_error.tpl', name='fwd_numbers')
  </label>
  <label>Received on port <select name="fwd_port">
    <option value="">any</option>
% for p in ports:
    <option value="{{p}}"{{!' selected' if str(p) == rule_entered.get('fwd_port') else ''}}>port {{p + 1}}</option>
% end
  </select>
% include('field_error.tpl', name='fwd_port')
  </label>
  <label>Sender starts with <input name="fwd_sender" value="{{rule_entered.get('fwd_sender', '')}}" size="12">
% include('field_error.tpl', name='fwd_sender')
  </label>
  <label>First word (keyword) <input name="fwd_keyword" value="{{rule_entered.get('fwd_keyword', '')}}" size="12">
% include('field_error.tpl', name='fwd_keyword')
  </label>
  <label>Queued as user <select name="fwd_owner">
% for u in users:
    <option value="{{u}}"{{!' selected' if u == rule_entered.get('fwd_owner', user) else ''}}>{{u}}</option>
% end
  </select>
% include('field_error.tpl', name='fwd_owner')
  </label>
  <label>At most, per sender per hour <input name="fwd_rate" value="{{rule_entered.get('fwd_rate', default_per_hour)}}" size="5">
% include('field_error.tpl', name='fwd_rate')
  </label>
  <button type="submit">Add forward rule</button>
</form>
% if forward_log:
<h3>Recent forwards</h3>
<table class="forward-log" id="forward-log">
  <thead><tr><th>When</th><th>Rule</th><th>Received SMS</th><th>Sender</th><th>Outcome</th><th>Task</th></tr></thead>
  <tbody>
% for e in forward_log:
  <tr><td>{{e['when']}}</td><td>{{e['row'].rule_id}}</td><td>{{e['row'].inbox_id}}</td><td>{{e['row'].sender}}</td><td>{{e['row'].outcome}}</td><td>{{'' if e['row'].task_id is None else e['row'].task_id}}</td></tr>
% end
  </tbody>
</table>
% end
