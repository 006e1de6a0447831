-- notify: the queue the email worker serves and the schedules: gather due emails every
-- minute, prune old notifications hourly (pg_cron when present, brandbase worker otherwise).

do $$
begin
    if not exists (select from jobs.queues as q where q.name = 'notify_email') then
        perform jobs.create_queue(
            'notify_email', max_attempts => 12, backoff_base => '5 seconds', backoff_max => '1 hour',
            lease => '2 minutes', on_success => 'delete'
        );
    end if;
end
$$;

select brand.schedule('notify-gather', '* * * * *', 'select notify.gather_due()');
select brand.schedule('notify-prune', '23 * * * *', 'select notify.prune()');
