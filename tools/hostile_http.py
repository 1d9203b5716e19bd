#!/usr/bin/env python3
"""Hostile HTTP against a real serve process: path traversal, bad tile paths, methods, ETags, Range, malformed requests, slowloris, disconnects and a 2,000-request concurrent burst; a good tile must still get 200 after each. Extra args go to serve.

    python3 tools/hostile_http.py   (STEPPE_BIN overrides the binary; run by hand, not in CI)"""
import socket, subprocess, time, sys, threading, select, os
import os; B = os.environ.get('STEPPE_BIN', os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'target/release/steppe-atlas'))
args=sys.argv[1:]
p=subprocess.Popen([B,'serve','--addr','127.0.0.1:0']+args,stdout=subprocess.PIPE,stderr=subprocess.PIPE)
line=p.stderr.readline().decode()
url=line.split('serving on ')[-1].strip()
host,port=url.split('//')[1].rstrip('/').split(':'); port=int(port)
print('server',url, flush=True)
def raw(req, timeout=30, read=True):
    s=socket.create_connection((host,port),timeout=timeout)
    s.sendall(req if isinstance(req,bytes) else req.encode('latin-1'))
    data=b''
    if read:
        try:
            while True:
                b=s.recv(65536)
                if not b: break
                data+=b
                if b'\r\n\r\n' in data:
                    head,_,body=data.partition(b'\r\n\r\n')
                    cl=[l for l in head.split(b'\r\n') if l.lower().startswith(b'content-length:')]
                    if cl and len(body)>=int(cl[0].split(b':')[1]): break
                    if req.startswith('HEAD') and data.endswith(b'\r\n\r\n'): break
        except socket.timeout:
            data+=b'<TIMEOUT>'
    s.close()
    return data
def get(path, method='GET', headers=()):
    h=''.join(f'{k}: {v}\r\n' for k,v in headers)
    return raw(f'{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{h}\r\n')
def status(d):
    try: return int(d.split(b' ')[1])
    except Exception: return d[:60]
def hdr(d,name):
    for l in d.split(b'\r\n\r\n')[0].split(b'\r\n'):
        if l.lower().startswith(name.lower().encode()+b':'): return l.split(b':',1)[1].strip().decode()
def good():
    st=status(get('/tiles/1723/2/2/1.png'))
    assert st==200, f'GOOD REQUEST FAILED: {st}'
paths=['/../../etc/passwd','/%2e%2e/%2e%2e/etc/passwd','/assets/..%2f..%2fCargo.toml','/assets/%2e%2e/%2e%2e/Cargo.toml',
 '/assets/..\\..\\Cargo.toml','/assets/%5c..%5cCargo.toml','/tiles/../../../etc/passwd','/tiles/1723/../../Cargo.toml',
 '//etc/passwd','/assets//etc/passwd','/assets/%00','/frames/..%2fCargo.toml','/vector/..%2f..%2fCargo.toml',
 '/tiles/abc/1/1/1.png','/tiles/1723/a/b/c.png','/tiles/1723/-1/0/0.png','/tiles/1723/0/-1/0.png','/tiles/1723/1099511627776/0/0.png',
 '/tiles/1723/2/1099511627776/0.png','/tiles/1723/2/4/0.png','/tiles/1723/2/0/4.png','/tiles/1723/40/0/0.png','/tiles/1723/20/0/0.png','/tiles/1723/19/300000/200000.png',
 '/tiles/1500/0/0/0.png','/tiles/99999999999/0/0/0.png','/tiles/-2147483648/0/0/0.png','/tiles/1723/0/0/0.jpg','/tiles/1723/0/0/0.png.png','/tiles/1723/0/0/0',
 '/tiles/1723/0/0/0@3x.png','/tiles/1723/0/0/0@2x.webp','/tiles/1723/0/0/0.webp','/tiles/1723/0/0/0.pbf','/tiles/1723/0/0/0.png?lang=xx','/tiles/1723/0/0/0.png?lang=../../x',
 '/tiles/1723/0/0/0.png?lang='+'k'*5000,'/tiles/1723.json?image=gif','/tiles/1500.json','/tiles/x.json','/frames/1500.png','/frames/99999.png','/frames/1723.png?width=100000',
 '/api/features?year=1723&lon=68&lat=43&radius_km=1e308','/api/features?year=99999999999&lon=68&lat=43','/api/features','/api/features?year=1723&lon=NaN&lat=43',
 '/api/timeline?x=1','/vector/0/0/0.pbf','/vector/30/0/0.pbf','/vector/15/0/0.pbf','/vector/2/9/9.pbf','/vector/a/b/c.pbf','/vector/style.json?lang=zz',
 '/?year=abc&lang=<script>','/?year=1741&lang=kk','/'+'a'*8000,'/tiles/1723/0/0/0.png?'+'a=b&'*2000, '/health?'+'x'*7000]
bad=0
for path in paths:
    d=get(path)
    st=status(d)
    body=d.split(b'\r\n\r\n',1)[-1][:100]
    flag='' if isinstance(st,int) and st<500 else ' !!!'
    if isinstance(st,int) and st==200 and ('passwd' in path or 'Cargo' in path): flag=' !!! LEAK'
    if b'root:' in d or b'[package]' in d: flag=' !!! LEAK'
    print(f'{st} {path[:80]} {body[:80]!r}{flag}', flush=True)
good()
for m in ['HEAD','POST','PUT','DELETE','OPTIONS','PATCH','TRACE','BREW']:
    d=get('/tiles/1723/0/0/0.png',m, [('Content-Length','0')])
    print(m, status(d), hdr(d,'allow'), hdr(d,'content-length'), len(d.split(b'\r\n\r\n',1)[-1]))
d=get('/tiles/1723/0/0/0.png'); et=hdr(d,'etag'); print('etag',et, hdr(d,'cache-control'))
for inm in [et, 'W/'+(et or ''), '"nope"', '*', et+', "x"' if et else 'x', '']:
    print('INM',repr(inm), status(get('/tiles/1723/0/0/0.png',headers=[('If-None-Match',inm)])))
for rng in ['bytes=0-10','bytes=100-','bytes=-5','bytes=999999-','bytes=5-1','garbage']:
    d=get('/tiles/1723/0/0/0.png',headers=[('Range',rng)])
    print('Range',rng,status(d),hdr(d,'content-range'),hdr(d,'content-length'))
# malformed requests
for r in [b'GARBAGE\r\n\r\n', b'GET / HTTP/9.9\r\n\r\n', b'GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
          b'GET /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', b'GET /health HTTP/1.1\r\n'+b'X-A: '+b'a'*100000+b'\r\n\r\n',
          b'GET /health HTTP/1.1\r\n'+b''.join(b'X-%d: a\r\n'%i for i in range(500))+b'\r\n', b'\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03'+b'\0'*200,
          b'GET /tiles/1723/0/0/0.png HTTP/1.1\r\nHost: x\r\nAccept-Encoding: '+b'gzip,'*3000+b'\r\n\r\n']:
    d=raw(r, timeout=15)
    print('RAW', r[:40], status(d))
good()
# disconnect mid-response: request a big frame and close
for i in range(20):
    s=socket.create_connection((host,port)); s.sendall(b'GET /frames/17%02d.png HTTP/1.1\r\nHost: x\r\n\r\n'%(20+i%20)); s.recv(10); s.close()
# slowloris: open connections sending partial headers
slow=[]
for i in range(50):
    s=socket.create_connection((host,port)); s.sendall(b'GET /health HTTP/1.1\r\nHost: x\r\n'); slow.append(s)
t0=time.time(); good(); print('good during slowloris %.2fs'%(time.time()-t0))
for s in slow: s.close()
# concurrent bad requests
import concurrent.futures as cf
def burst(i):
    ps=['/tiles/1723/%d/%d/%d.png'%(i%25, i*7, i*13),'/tiles/%d/3/1/1.png'%(1600+i),'/api/features?year=%d&lon=70&lat=45&radius_km=5000'%(1635+i%130),'/assets/..%2f'+str(i),'/frames/%d.png'%(1635+i%137)]
    return [status(get(p)) for p in ps]
t0=time.time()
with cf.ThreadPoolExecutor(64) as ex:
    res=list(ex.map(burst, range(400)))
from collections import Counter
print('burst', Counter(s for r in res for s in r), '%.1fs'%(time.time()-t0))
t0=time.time(); good(); print('good after burst %.2fs'%(time.time()-t0))
print('alive', p.poll() is None)
p.terminate(); err=p.stderr.read().decode()
print('stderr:', err[-2000:])
