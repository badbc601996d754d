% if found is not None:
<p class="pager">{{found.total}} message(s), page {{found.page}} of {{found.pages}}
% if 'previous' in links:
  <a href="{{links['previous']}}" rel="prev">Previous</a>
% end
% if 'next' in links:
  <a href="{{links['next']}}" rel="next">Next</a>
% end
</p>
% end
