% rebase('base.tpl', title=title)
% if progress is not None:
<section class="card" id="task" data-source="/send/task/{{progress.task_id}}">
  <h2>Task {{progress.task_id}}</h2>
  <progress id="progress" max="{{progress.total}}" value="{{progress.done}}"></progress>
  <span id="progress-text">{{progress.done}} of {{progress.total}} done, {{progress.failed}} failed</span>
  <form method="post" action="/send/task/{{progress.task_id}}/stop" id="stop-form">
    <input type="hidden" name="csrf" value="{{csrf}}">
    <button type="submit" id="stop"{{' hidden' if progress.finished else ''}}>Stop</button>
  </form>
  <p><a href="/outbox?task={{progress.task_id}}">This task in the outbox</a></p>
</section>
% end
<form method="post" action="/send" class="send">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <label>To <span class="muted">(numbers, contact names, group names; comma separated)</span>
    <input name="to" value="{{values.get('to', '')}}" size="60" aria-describedby="to-error" required></label>
  % include('field_error.tpl', name='to')
% if rejects:
  <ul id="to-rejects" class="field-error">
% for line in rejects:
    <li>{{line}}</li>
% end
  </ul>
% end
  <label>Text
    <textarea name="text" rows="6" cols="60" aria-describedby="text-error counter" required>{{values.get('text', '')}}</textarea></label>
  <p id="counter" class="muted" data-source="/send/plan">0 characters</p>
  % include('field_error.tpl', name='text')
  <label>Port
    <select name="port">
      <option value="">Any port</option>
% for p in ports:
      <option value="{{p + 1}}"{{' selected' if values.get('port') == str(p + 1) else ''}}>Port {{p + 1}}</option>
% end
    </select></label>
  % include('field_error.tpl', name='port')
  <button type="submit">Send</button>
</form>
