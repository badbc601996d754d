% if errors.get(name):
<span class="field-error" id="{{name}}-error" role="alert">{{errors[name]}}</span>
% end
