% rebase('base.tpl', title=title)
<p>Messages waiting in the queue: <strong id="queue">{{queue}}</strong>
<span class="muted">(sent and failed: the last 24 hours; refreshes every {{refresh}} s)</span></p>
<div class="grid" id="ports" data-source="/dashboard/data" data-refresh="{{refresh}}">
% for p in ports:
  <section class="card" data-port="{{p['port']}}">
    <h2>{{p['title']}}</h2>
    <dl>
      <dt>State</dt><dd data-field="state">{{p['state']}}</dd>
      <dt>SIM</dt><dd data-field="sim">{{p['sim']}}</dd>
      <dt>Slot</dt><dd data-field="slot">{{p['slot']}}</dd>
      <dt>Operator</dt><dd data-field="operator">{{p['operator']}}</dd>
      <dt>Registration</dt><dd data-field="reg">{{p['reg']}}</dd>
      <dt>Signal</dt><dd><span data-field="signal">{{p['signal']}}</span>/31
        <svg class="spark" width="{{plot_w}}" height="{{plot_h}}" viewBox="0 0 {{plot_w}} {{plot_h}}" role="img" aria-label="signal history">
          <polyline fill="none" stroke="#0b5cad" stroke-width="1.5" points="{{p['points']}}"></polyline>
        </svg></dd>
      <dt>Sent / failed</dt><dd><span data-field="sent">{{p['sent']}}</span> / <span data-field="failed">{{p['failed']}}</span></dd>
      <dt>Recovery</dt><dd data-field="recovery">{{p['recovery']}}</dd>
    </dl>
  </section>
% end
</div>
<h2>Recent events</h2>
% if events:
<table id="events">
<thead><tr><th>Time</th><th>Event</th><th>Port</th><th>Detail</th></tr></thead>
<tbody>
% for e in events:
<tr><td>{{e['time']}}</td><td>{{e['kind']}}</td><td>{{'' if e['port'] is None else e['port'] + 1}}</td><td>{{e['summary']}}</td></tr>
% end
</tbody></table>
% else:
<p class="muted" id="events">No events to show.</p>
% end
