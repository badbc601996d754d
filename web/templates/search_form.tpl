<form method="get" class="search">
% if values.get('task'):
  <input type="hidden" name="task" value="{{values['task']}}">
% end
  <label>Number <input name="number" value="{{values['number']}}" size="14"></label>
  <label>Text <input name="text" value="{{values['text']}}" size="18"></label>
  <label>Status <select name="status"><option value="">any</option>
% for s in statuses:
    <option value="{{s}}"{{' selected' if values['status'] == s else ''}}>{{s}}</option>
% end
  </select></label>
  <label>Port <select name="port"><option value="">any</option>
% for p in ports:
    <option value="{{p + 1}}"{{' selected' if values['port'] == str(p + 1) else ''}}>{{p + 1}}</option>
% end
  </select></label>
  <label>From <input name="from" type="date" value="{{values['from']}}"></label>
  <label>To <input name="to" type="date" value="{{values['to']}}"></label>
  <button type="submit">Search</button>
  <a href="{{current.path}}/export.csv{{export}}" class="export">Export CSV</a>
</form>
% for name, message in errors.items():
<p class="field-error" role="alert">{{message}}</p>
% end
