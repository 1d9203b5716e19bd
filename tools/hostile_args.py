#!/usr/bin/env python3
"""Hostile command-line arguments: about 130 flag combinations (sizes, dpi, bbox, zoom, shards, output paths, merge inputs), one line each with exit code and first stderr line; flags panics, multi-line errors and slow runs.

    python3 tools/hostile_args.py   (STEPPE_BIN overrides the binary; run by hand, not in CI)"""
import subprocess, os, sys, tempfile, shutil, time, json
import os; B = os.environ.get('STEPPE_BIN', os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'target/release/steppe-atlas'))
T=tempfile.mkdtemp()
ro=os.path.join(T,'ro'); os.makedirs(ro); os.chmod(ro,0o555)
G = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'geodata')
R=['render','--year','1723']
cases = [
 R+['--width','200','--year','1500','--out','{t}/a.png'],
 R+['--width','200','--year','2100','--out','{t}/a.png'],
 R+['--width','0','--out','{t}/a.png'],
 R+['--width','1','--out','{t}/a.png'],
 R+['--width','1','--height','1','--out','{t}/a.png'],
 R+['--width','1000000','--out','{t}/a.png'],
 R+['--width','1000000','--height','1','--out','{t}/a.png'],
 R+['--width','-5','--out','{t}/a.png'],
 R+['--height','0','--out','{t}/a.png'],
 R+['--height','300','--out','{t}/a.png'],
 R+['--size-mm','0,0','--out','{t}/a.png'],
 R+['--size-mm','0','--out','{t}/a.png'],
 R+['--size-mm','297','--out','{t}/a.png'],
 R+['--size-mm','1e9,1e9','--out','{t}/a.png'],
 R+['--size-mm','nan,nan','--out','{t}/a.png'],
 R+['--size-mm','inf,100','--out','{t}/a.png'],
 R+['--size-mm','-297,210','--out','{t}/a.png'],
 R+['--size-mm','297,210','--dpi','0','--out','{t}/a.png'],
 R+['--size-mm','297,210','--dpi','-300','--out','{t}/a.png'],
 R+['--size-mm','297,210','--dpi','1000000','--out','{t}/a.png'],
 R+['--size-mm','297,210','--dpi','nan','--out','{t}/a.png'],
 R+['--size-mm','1,1','--dpi','1','--out','{t}/a.png'],
 R+['--width','200','--dpi','0','--out','{t}/a.png'],
 R+['--width','200','--dpi','100000','--out','{t}/a.png'],
 R+['--width','200','--size-mm','297,210','--out','{t}/a.png'],
 R+['--width','200','--bbox','93,56,47,36','--out','{t}/a.png'],
 R+['--width','200','--bbox','nan,36,93,56','--out','{t}/a.png'],
 R+['--width','200','--bbox','60,40,60,40','--out','{t}/a.png'],
 R+['--width','200','--bbox','-200,40,200,60','--out','{t}/a.png'],
 R+['--width','200','--bbox','170,40,-170,60','--out','{t}/a.png'],
 R+['--width','200','--bbox','-180,-90,180,90','--out','{t}/a.png'],
 R+['--width','200','--bbox','-180,-90,180,90','--projection','mercator','--out','{t}/a.png'],
 R+['--width','200','--bbox','-180,-90,180,90','--projection','albers','--out','{t}/a.png'],
 R+['--width','200','--bbox','60,89,70,90','--out','{t}/a.png'],
 R+['--width','200','--bbox','60,-90,70,-89','--projection','mercator','--out','{t}/a.png'],
 R+['--width','200','--bbox','1,2,3','--out','{t}/a.png'],
 R+['--width','200','--bbox','a,b,c,d','--out','{t}/a.png'],
 R+['--width','200','--lang','xx','--out','{t}/a.png'],
 R+['--width','200','--lang','','--out','{t}/a.png'],
 R+['--width','200','--lang','../../etc','--out','{t}/a.png'],
 R+['--width','200','--compare','1500','--out','{t}/a.png'],
 R+['--width','200','--compare','1723','--out','{t}/a.png'],
 R+['--width','200','--out','{t}/missing/dir/a.png'],
 R+['--width','200','--out','{ro}/a.png'],
 R+['--width','200','--out','{t}'],
 R+['--width','200','--out','{t}/a.xyz'],
 R+['--width','200','--out','{t}/a'],
 R+['--width','200','--out',''],
 R+['--width','200','--format','svg','--out','{t}/a.png'],
 R+['--width','200','--out','/dev/full'],
 R+['--width','200','--out','{t}/d/cities.geojson','--data','{t}/d'],
 R+['--width','200','--style','nonexistent'],
 R+['--width','200','--style','{t}'],
 R+['--width','200','--data','{t}/nonexistent'],
 R+['--width','200','--data','/etc/passwd'],
 R+['--width','200','--labels-json','{t}/missing/l.json','--out','{t}/a.png'],
 R+['--width','200','--labels-json','{t}','--out','{t}/a.png'],
 ['frames','--from','1725','--to','1723','--width','100','--out','{t}/f'],
 ['frames','--from','1723','--to','1724','--width','100','--fps','0','--out','{t}/f','--gif','{t}/a.gif'],
 ['frames','--from','1723','--to','1724','--width','100','--fps','-1','--out','{t}/f','--gif','{t}/a.gif'],
 ['frames','--from','1723','--to','1724','--width','100','--fps','1000','--out','{t}/f','--gif','{t}/a.gif'],
 ['frames','--from','1723','--to','1724','--width','100','--fps','nan','--out','{t}/f','--gif','{t}/a.gif'],
 ['frames','--from','1723','--to','1724','--width','100','--fps','0.001','--out','{t}/f','--gif','{t}/a.gif'],
 ['frames','--from','1723','--to','1724','--width','100','--hold','-1','--out','{t}/f','--gif','{t}/a.gif'],
 ['frames','--from','1723','--to','1724','--width','100','--hold','1000000','--out','{t}/f','--gif','{t}/a.gif'],
 ['frames','--from','1723','--to','1724','--width','100','--tween','1000000','--out','{t}/f','--gif','{t}/a.gif'],
 ['frames','--from','1723','--to','1724','--width','100','--out','{t}/f','--gif','{t}/f'],
 ['frames','--from','1723','--to','1724','--width','100','--out','{t}/f','--gif','{t}/a.gif','--apng','{t}/a.gif'],
 ['frames','--from','1723','--to','1724','--width','100','--out','{t}/f','--gif','{ro}/a.gif'],
 ['frames','--from','1723','--to','1724','--width','100','--out','{ro}/f'],
 ['frames','--from','1723','--to','1724','--width','100000','--out','{t}/f','--gif','{t}/a.gif'],
 ['frames','--from','1723','--to','1724','--width','1','--out','{t}/f','--gif','{t}/a.gif','--apng','{t}/a.apng'],
 ['frames','--from','1723','--to','1724','--width','100','--out','{t}/f','--sequence','{t}/f'],
 ['tiles','--years','1723','--zoom','0..30','--out','{t}/x'],
 ['tiles','--years','1723','--zoom','5..2','--out','{t}/x'],
 ['tiles','--years','1723','--zoom','-1..2','--out','{t}/x'],
 ['tiles','--years','1723','--zoom','..','--out','{t}/x'],
 ['tiles','--years','1723','--zoom','','--out','{t}/x'],
 ['tiles','--years','1725..1723','--zoom','0','--out','{t}/x'],
 ['tiles','--years','1500','--zoom','0','--out','{t}/x'],
 ['tiles','--years','1723','--zoom','0','--shard','3/2','--out','{t}/x'],
 ['tiles','--years','1723','--zoom','0','--shard','0/0','--out','{t}/x'],
 ['tiles','--years','1723','--zoom','0','--shard','-1/2','--out','{t}/x'],
 ['tiles','--years','1723','--zoom','0','--shard','1/1000000','--out','{t}/x'],
 ['tiles','--years','1723','--zoom','0','--shard','1','--out','{t}/x'],
 ['tiles','--years','1723','--zoom','0','--scale','3','--out','{t}/x'],
 ['tiles','--years','1723','--zoom','0','--scale','0','--out','{t}/x'],
 ['tiles','--years','1723','--zoom','0','--base-url','not a url','--out','{t}/x'],
 ['tiles','--years','1723','--zoom','0','--base-url','javascript:alert(1)','--out','{t}/x'],
 ['tiles','--years','1723','--zoom','0','--format','mbtiles','--out','{ro}/x'],
 ['tiles','--years','1723','--zoom','0','--format','mbtiles','--out','/etc/passwd'],
 ['tiles','--years','1723','--zoom','0','--format','pmtiles','--out','{t}/file.txt'],
 ['tiles','--years','1723','--zoom','0','--lang','zz','--out','{t}/x'],
 ['tiles','--zoom','0..30','--format','mvt','--out','{t}/x'],
 ['tiles','--zoom','0..16','--format','mvt','--out','{t}/x'],
 ['query','--year','1723','--lon','200','--lat','43'],
 ['query','--year','1723','--lon','nan','--lat','43'],
 ['query','--year','1723','--lon','68','--lat','inf'],
 ['query','--year','1723','--lon','68','--lat','43','--radius-km','-1'],
 ['query','--year','1723','--lon','68','--lat','43','--radius-km','1e308'],
 ['query','--year','1723','--lon','68','--lat','43','--radius-km','nan'],
 ['query','--year','1723','--lon','68','--lat','43','--radius-km','0'],
 ['query','--year','1500','--lon','68','--lat','43'],
 ['query','--year','1723','--lon','68','--lat','43','--lang','qq'],
 ['validate','--style','nope'],
 ['validate','--data','{t}'],
 ['merge','--out','{t}/m.mbtiles'],
 ['merge','--out','{t}/m.mbtiles','{t}/missing.mbtiles'],
 ['merge','--out','{t}/m.mbtiles','{t}/garbage.mbtiles'],
 ['merge','--out','{t}/m.pmtiles','{t}/garbage.pmtiles'],
 ['merge','--out','{t}/m.mbtiles','{t}/empty.mbtiles'],
 ['merge','--out','{t}/m.mbtiles','{t}/s/1723.mbtiles','{t}/s/1723.mbtiles'],
 ['merge','--out','{t}/m.pmtiles','{t}/s/1723.mbtiles'],
 ['merge','--out','{t}/m.mbtiles','{t}/s/1723.mbtiles','{t}/s/1723.pmtiles'],
 ['merge','--out','{t}/s/1723.mbtiles','{t}/s/1723.mbtiles'],
 ['merge','--out','{t}/m.mbtiles','{t}/s0/1723-0of3.mbtiles','{t}/s1/1724.mbtiles'],
 ['merge','--out','{t}/m.mbtiles','{t}/s0/1723-0of3.mbtiles','{t}/s2/1723-1of2.mbtiles'],
 ['merge','--out','{t}/m.mbtiles','{t}/s0/1723-0of3.mbtiles','{t}/s1/1723-1of3.mbtiles'],
 ['merge','--out','{t}/m.txt','{t}/s0/1723-0of3.mbtiles','{t}/s1/1723-1of3.mbtiles'],
 ['merge','--out','{t}/m.pmtiles','{t}/s0/1723-0of3.pmtiles','{t}/s1/1723-1of3.pmtiles'],
 ['merge','--out','{t}/m.pmtiles','{t}/s0/1723-0of3.pmtiles','{t}/trunc.pmtiles'],
 ['merge','--out','{t}/m.mbtiles','{t}/s0/1723-0of3.mbtiles','{t}/s0/1723-0of3.mbtiles'],
 ['merge','--out','{t}/m.mbtiles','{t}/s0/1723-0of3.mbtiles','{t}/sq.mbtiles'],
 ['serve','--addr','not-an-addr'],
 ['serve','--addr','127.0.0.1:99999'],
 ['serve','--addr','127.0.0.1:0','--cache-mb','0'],
 ['serve','--addr','127.0.0.1:0','--tiles','{t}/garbage.mbtiles'],
 ['serve','--addr','127.0.0.1:0','--tiles','{t}/garbage.pmtiles'],
 ['serve','--addr','127.0.0.1:0','--public-url','not a url'],
 ['serve','--addr','127.0.0.1:0','--cors','\n'],
]
def prep():
    open(f'{T}/garbage.mbtiles','wb').write(b'garbage'*100)
    open(f'{T}/garbage.pmtiles','wb').write(b'PMTiles\x03'+b'\0'*50)
    open(f'{T}/empty.mbtiles','wb').close()
    open(f'{T}/file.txt','w').write('x')
    import sqlite3
    c=sqlite3.connect(f'{T}/sq.mbtiles'); c.execute('create table x(a)'); c.commit(); c.close()
    os.makedirs(f'{T}/d'); shutil.copytree(G, f'{T}/d', dirs_exist_ok=True)
    for fmt in ['mbtiles','pmtiles']:
        subprocess.run([B,'tiles','--years','1723','--zoom','0..2','--format',fmt,'--out',f'{T}/s'],capture_output=True)
        subprocess.run([B,'tiles','--years','1724','--zoom','0..2','--format',fmt,'--out',f'{T}/s1x'],capture_output=True)
        for i in range(3):
            subprocess.run([B,'tiles','--years','1723','--zoom','0..2','--format',fmt,'--shard',f'{i}/3' if i<2 else '1/2','--out',f'{T}/s{i}'],capture_output=True)
    os.makedirs(f'{T}/s1',exist_ok=True)
    shutil.copy(f'{T}/s1x/1724.mbtiles', f'{T}/s1/1724.mbtiles')
    b=open(f'{T}/s1/1723-1of3.pmtiles','rb').read(); open(f'{T}/trunc.pmtiles','wb').write(b[:len(b)//2])
prep()
for c in cases:
    args=[a.replace('{t}',T).replace('{ro}',ro) for a in c]
    before=set(os.listdir(T))
    t0=time.time()
    try:
        p=subprocess.run([B]+args,capture_output=True,timeout=(5 if c[0]=='serve' else 60),stdin=subprocess.DEVNULL)
        code=p.returncode; err=p.stderr.decode('utf-8','replace')
    except subprocess.TimeoutExpired:
        code='TIMEOUT'; err=''
    dt=time.time()-t0
    lines=[l for l in err.splitlines() if l.strip()]
    flag=[]
    if code==101 or 'panicked' in err: flag.append('PANIC')
    if code!=0 and len(lines)>1: flag.append('MULTI')
    if code!=0 and not lines: flag.append('NOMSG')
    if isinstance(code,int) and code<0: flag.append('SIG')
    if dt>20: flag.append(f'SLOW{dt:.0f}')
    print(f"{' '.join(c)[:90]:90} -> {code} {'!'+','.join(flag) if flag else ''} {lines[0][:200] if lines else ''}", flush=True)
    # cleanup outputs named a.png etc
    for n in ['a.png','a.gif','a.apng','x','f','m.mbtiles','m.pmtiles','a','a.xyz']:
        p2=os.path.join(T,n)
        if os.path.isdir(p2): shutil.rmtree(p2)
        elif os.path.exists(p2): os.remove(p2)
print(T)
