(function(){
  // Filter clips (summary rows and clip sections) by verdict; sort the summary table by a column.
  function apply(){
    var on={};document.querySelectorAll('.filters input').forEach(function(b){on[b.value]=b.checked;});
    document.querySelectorAll('[data-verdict]').forEach(function(el){el.classList.toggle('hidden',!on[el.dataset.verdict]);});
    var n=document.querySelectorAll('#clips-table tbody tr:not(.hidden)').length;
    var s=document.getElementById('shown');if(s){s.textContent=n;}
  }
  document.querySelectorAll('.filters input').forEach(function(b){b.addEventListener('change',apply);});
  var rank={fail:0,error:1,warn:2,pass:3};
  document.querySelectorAll('th[data-sort]').forEach(function(th,col){
    th.addEventListener('click',function(){
      var tb=th.closest('table').tBodies[0],i=Array.prototype.indexOf.call(th.parentNode.children,th);
      var dir=th.dataset.dir==='asc'?-1:1;th.dataset.dir=dir===1?'asc':'desc';
      var rows=Array.prototype.slice.call(tb.rows);
      rows.sort(function(a,b){
        var x=a.cells[i].dataset.key||a.cells[i].textContent,y=b.cells[i].dataset.key||b.cells[i].textContent;
        if(th.dataset.sort==='verdict'){x=rank[x];y=rank[y];}
        else if(th.dataset.sort==='num'){x=parseFloat(x);y=parseFloat(y);x=isNaN(x)?-1e9:x;y=isNaN(y)?-1e9:y;}
        return (x<y?-1:x>y?1:0)*dir;});
      rows.forEach(function(r){tb.appendChild(r);});
    });
  });
  apply();
})();
