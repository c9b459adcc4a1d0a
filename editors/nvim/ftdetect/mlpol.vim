" *.mlpol files are mlpol policies.
autocmd BufRead,BufNewFile *.mlpol setfiletype mlpol
