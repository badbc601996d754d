<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{title}} - smsd</title>
<link rel="stylesheet" href="/static/console.css">
% for script in get('scripts', []):
<script src="/static/{{script}}" defer></script>
% end
</head>
<body data-csrf="{{csrf}}">
<header class="top">
  <span class="brand">smsd</span>
  <nav aria-label="Pages">
% for item in nav:
%   if current is not None and item.path == current.path:
    <a href="{{item.path}}" class="current" aria-current="page">{{item.title}}</a>
%   else:
    <a href="{{item.path}}">{{item.title}}</a>
%   end
% end
  </nav>
% if user:
  <form class="signout" method="post" action="/logout">
    <input type="hidden" name="csrf" value="{{csrf}}">
    <a class="who" href="/users/password" title="Change your password">{{user}}</a> <button type="submit">Sign out</button>
  </form>
% end
</header>
<main>
<h1>{{title}}</h1>
% for message in flash:
<p class="flash" role="status">{{message}}</p>
% end
{{!base}}
</main>
</body>
</html>
