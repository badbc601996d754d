% rebase('base.tpl', title=title)
% if answer is not None:
<section class="card probe" id="test-answer" role="status">
  <h2>{{answer['what']}}</h2>
% if answer['status'] is not None:
  <p class="{{'ok' if answer['ok'] else 'error'}}">The receiver answered HTTP {{answer['status']}} in {{'%.2f' % answer['seconds']}} s.</p>
  <p>First bytes of the body{{' (cut)' if answer['cut'] else ''}}:</p>
  <pre class="answer">{{answer['head'] or '(empty)'}}</pre>
% else:
  <p class="error">No answer: {{answer['error']}}</p>
% end
</section>
% end

<h2>Inbound: received SMS forwarded to a URL</h2>
% if routes:
<table class="routes">
  <thead><tr><th>Id</th><th>Format</th><th>URL</th><th>Port</th><th>Sender starts with</th><th>Text starts with</th><th></th></tr></thead>
  <tbody>
% for r in routes:
  <tr id="route-{{r.id}}">
    <td>{{r.id}}</td>
    <td>{{protocol_names.get(r.protocol, r.protocol)}}</td>
    <td class="url">{{r.url}}</td>
    <td>{{'any' if r.port is None else r.port + 1}}</td>
    <td>{{r.sender_prefix or 'any'}}</td>
    <td>{{r.text_prefix or 'any'}}</td>
    <td>
      <form method="post" action="/routing/test" class="inline">
        <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="id" value="{{r.id}}">
        <button type="submit">Test</button>
      </form>
      <form method="post" action="/routing/delete" class="inline">
        <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="id" value="{{r.id}}">
        <button type="submit">Delete</button>
      </form>
    </td>
  </tr>
% end
  </tbody>
</table>
% else:
<p class="muted">No routes: received SMS stay in the inbox only.</p>
% end

<h2>Pushes that failed for good</h2>
% if failed:
<p class="muted">A route whose receiver refused an event for a day sets it aside here and goes on with the next ones.</p>
<table class="failed" id="failed">
  <thead><tr><th>Id</th><th>Route</th><th>Event</th><th>Happened</th><th>Given up</th><th>Attempts</th><th>Last error</th><th></th></tr></thead>
  <tbody>
% for f in failed:
  <tr id="failed-{{f['item'].id}}">
    <td>{{f['item'].id}}</td>
    <td>{{f['route']}}</td>
    <td>{{f['item'].event.kind}} #{{f['item'].event.id}}</td>
    <td>{{f['created']}}</td>
    <td>{{f['when']}}</td>
    <td>{{f['item'].attempts}}</td>
    <td>{{f['item'].error}}</td>
    <td>
      <form method="post" action="/routing/replay" class="inline">
        <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="id" value="{{f['item'].id}}">
        <button type="submit">Replay</button>
      </form>
    </td>
  </tr>
% end
  </tbody>
</table>
% else:
<p class="muted">None: every route's receiver has taken what it was sent (or is still being retried).</p>
% end

<h2>Add a route</h2>
<form class="route-add" method="post" action="/routing/add">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <label>URL <input name="url" value="{{entered.get('url', '')}}" placeholder="https://receiver.example/sms" size="50">
% include('field_error.tpl', name='url')
  </label>
  <label>Format <select name="protocol">
% for p in protocols:
    <option value="{{p}}"{{!' selected' if p == entered.get('protocol') else ''}}>{{protocol_names.get(p, p)}}</option>
% end
  </select>
% include('field_error.tpl', name='protocol')
  </label>
  <label>Received on port <select name="port">
    <option value="">any</option>
% for p in ports:
    <option value="{{p}}"{{!' selected' if str(p) == entered.get('port') else ''}}>port {{p + 1}}</option>
% end
  </select>
% include('field_error.tpl', name='port')
  </label>
  <label>Sender starts with <input name="sender_prefix" value="{{entered.get('sender_prefix', '')}}">
% include('field_error.tpl', name='sender_prefix')
  </label>
  <label>Text starts with (keyword) <input name="text_prefix" value="{{entered.get('text_prefix', '')}}">
% include('field_error.tpl', name='text_prefix')
  </label>
  <button type="submit">Add route</button>
</form>
<p class="muted">A route retries until its receiver answers 2xx, in order and across restarts; an event refused for a day is set aside above.</p>

% include('routing_rules.tpl')
